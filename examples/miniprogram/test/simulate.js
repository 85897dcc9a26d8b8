// Opens a page of the example the way mini-program developers test theirs:
// WeChat's miniprogram-simulate renders the page's WXML in a DOM (jsdom) and
// runs its JS, with simulate's `wx`. The parts of `wx` that reach the outside
// world (wx.request, wx.uploadFile, wx.login, wx.getUserInfo, storage, the
// open-type buttons' events) come from the live device of wx-shim.js instead
// of simulate's canned answers, so every tap goes to the real backend and
// WeChat sandbox.
'use strict';

require('global-jsdom')(undefined, { url: 'https://servicewechat.com/' });
// global-jsdom leaves Node's own Event classes in place; j-component
// dispatches its events on jsdom's DOM, which needs jsdom's.
for (const name of ['Event', 'CustomEvent', 'EventTarget']) global[name] = window[name];

const path = require('node:path');
const simulate = require('miniprogram-simulate');
const { createWx } = require('./wx-shim.js');

// A page is a component to miniprogram-simulate (as it is to WeChat when a
// page is built with Component()): Page's handlers become methods. Each
// handler's promise is kept, so a test can wait until what a tap started has
// finished instead of sleeping.
function pageAsComponent(def, inFlight) {
  const { data, ...rest } = def;
  const methods = {};
  for (const [name, fn] of Object.entries(rest)) {
    if (typeof fn !== 'function') continue;
    methods[name] = function (...args) {
      const res = fn.apply(this, args);
      if (res && typeof res.then === 'function') inFlight.push(res);
      return res;
    };
  }
  return { data, methods };
}

// openPage launches the mini-program in root (its app.js) for a sandbox user
// and renders one page (path without extension, e.g. 'pages/index/index').
// It returns the rendered page and the device; call `await page.load()` for
// WeChat's onLoad, then tap and read what the page shows.
function openPage({ root, page, sandboxUrl, backendUrl, user }) {
  const device = createWx({ sandboxUrl, user });
  Object.assign(global.wx, device.wx); // simulate's wx, with the live parts
  for (const file of Object.keys(require.cache)) {
    if (file.startsWith(root + path.sep)) delete require.cache[file];
  }
  let app;
  global.App = (def) => { app = def; };
  global.getApp = () => app;
  require(path.join(root, 'app.js'));
  app.globalData.baseUrl = backendUrl;

  const inFlight = [];
  global.Page = (def) => Component(pageAsComponent(def, inFlight));
  const id = simulate.load(path.join(root, page), 'page', { rootPath: root, compiler: 'simulate' });
  const comp = simulate.render(id);
  comp.attach(document.createElement('parent-wrapper'));

  // settled waits for the handlers started so far (and what they started).
  async function settled() {
    await simulate.sleep(0); // j-component dispatches events on a microtask
    while (inFlight.length) await Promise.all(inFlight.splice(0));
  }
  const find = (selector) => {
    const node = comp.querySelector(selector);
    if (!node) throw new Error(`${page}: nothing matches ${selector}`);
    return node;
  };
  return {
    app,
    comp,
    device,
    get data() { return comp.data; },
    async launch() { await app.onLaunch(); },
    async load(query = {}) {
      if (comp.instance.onLoad) inFlight.push(Promise.resolve(comp.instance.onLoad(query)));
      await settled();
    },
    // tap (or any event, with its detail) on the node a selector names, as the
    // user's finger would; resolves once the page's handler has finished.
    async tap(selector, event = 'tap', detail = {}) {
      find(selector).dispatchEvent(event, { detail });
      await settled();
    },
    // text the node a selector names shows, or '' when it is not rendered.
    text(selector) {
      const node = comp.querySelector(selector);
      return node ? node.dom.textContent.trim() : '';
    },
    html() { return comp.dom.outerHTML; },
  };
}

module.exports = { openPage };
