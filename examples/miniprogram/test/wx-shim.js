// A small stand-in for the WeChat app, enough to run mini-program code in
// Node against a live backend: wx.request goes to the backend, wx.login,
// wx.checkSession, wx.getUserInfo and chooseAvatar go to the WeChat sandbox's
// client face for one named test user, wx.uploadFile sends real
// multipart/form-data, storage and temporary files live in memory.
// Dependency-free (Node 20).
'use strict';

const path = require('node:path');

function createWx({ sandboxUrl, user }) {
  const storage = new Map();
  const tempFiles = new Map(); // wxfile:// path → bytes, as chooseAvatar leaves them
  const log = []; // every wx.request: {method, url, data, statusCode, body}
  let pending = 0;

  // settle calls success/fail/complete as the wx API does, counting the
  // operation until its callbacks have run.
  function settle(opts, work) {
    pending++;
    work.then(
      (res) => {
        try {
          if (opts.success) opts.success(res);
        } finally {
          if (opts.complete) opts.complete(res);
          pending--;
        }
      },
      (err) => {
        const res = { errMsg: err.message };
        try {
          if (opts.fail) opts.fail(res);
        } finally {
          if (opts.complete) opts.complete(res);
          pending--;
        }
      },
    );
  }

  async function phone(api) {
    const res = await fetch(`${sandboxUrl}/sandbox/wx/${api}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ user }),
    });
    const body = await res.json();
    if (!res.ok) throw new Error(body.errMsg || `${api}:fail`);
    return body;
  }

  async function request({ url, method = 'GET', data, header = {} }) {
    method = method.toUpperCase();
    const headers = {};
    for (const [k, v] of Object.entries(header)) headers[k.toLowerCase()] = String(v);
    headers['content-type'] = headers['content-type'] || 'application/json';
    let body;
    if (method === 'GET') {
      if (data) url += (url.includes('?') ? '&' : '?') + new URLSearchParams(data);
    } else if (data !== undefined) {
      body = headers['content-type'].startsWith('application/x-www-form-urlencoded')
        ? new URLSearchParams(data).toString()
        : typeof data === 'string' ? data : JSON.stringify(data);
    }
    let res;
    try {
      res = await fetch(url, { method, headers, body });
    } catch (err) {
      throw new Error(`request:fail ${err.cause ? err.cause.code : err.message}`);
    }
    const text = await res.text();
    let parsed = text;
    try {
      parsed = JSON.parse(text); // wx.request parses JSON bodies (dataType 'json')
    } catch (_) {}
    log.push({ method, url, data, statusCode: res.status, body: parsed });
    return { data: parsed, statusCode: res.status, header: Object.fromEntries(res.headers), errMsg: 'request:ok' };
  }

  // uploadFile posts one file and formData as multipart/form-data; like
  // WeChat's, it resolves with the body as text.
  async function uploadFile({ url, filePath, name, header = {}, formData = {} }) {
    const bytes = tempFiles.get(filePath);
    if (!bytes) throw new Error(`uploadFile:fail file not found ${filePath}`);
    const form = new FormData();
    form.append(name, new Blob([bytes], { type: 'image/jpeg' }), path.basename(filePath));
    for (const [k, v] of Object.entries(formData)) form.append(k, String(v));
    let res;
    try {
      res = await fetch(url, { method: 'POST', headers: header, body: form });
    } catch (err) {
      throw new Error(`uploadFile:fail ${err.cause ? err.cause.code : err.message}`);
    }
    const text = await res.text();
    let parsed = text;
    try {
      parsed = JSON.parse(text);
    } catch (_) {}
    log.push({ method: 'POST', url, data: { file: name, bytes: bytes.length }, statusCode: res.status, body: parsed });
    return { data: text, statusCode: res.status, errMsg: 'uploadFile:ok' };
  }

  // chooseAvatar is what tapping <button open-type="chooseAvatar"> yields:
  // the sandbox's photo for the user, saved as a temporary file; it returns
  // the event a page's handler gets.
  async function chooseAvatar() {
    const { data } = await phone('chooseAvatar');
    const tempPath = `wxfile://tmp_${tempFiles.size + 1}.jpg`;
    tempFiles.set(tempPath, Buffer.from(data, 'base64'));
    return { detail: { avatarUrl: tempPath } };
  }

  // getPhoneNumber is what tapping <button open-type="getPhoneNumber"> and
  // allowing yields: the event a page's handler gets.
  async function getPhoneNumber() {
    const { code, encryptedData, iv } = await phone('getPhoneNumber');
    return { detail: { code, encryptedData, iv, errMsg: 'getPhoneNumber:ok' } };
  }

  // requestSubscribeMessage is the popup, the user tapping accept for
  // every template: the sandbox records the answers as WeChat does.
  async function requestSubscribeMessage({ tmplIds }) {
    const templates = Object.fromEntries(tmplIds.map((id) => [id, 'accept']));
    const res = await fetch(`${sandboxUrl}/sandbox/subscribe`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ user, templates }),
    });
    const body = await res.json();
    if (!res.ok) throw new Error(body.errMsg || 'requestSubscribeMessage:fail');
    return body;
  }

  const wx = {
    requestSubscribeMessage: (opts) => settle(opts, requestSubscribeMessage(opts)),
    request: (opts) => settle(opts, request(opts)),
    uploadFile: (opts) => settle(opts, uploadFile(opts)),
    login: (opts = {}) => settle(opts, phone('login')),
    checkSession: (opts = {}) => settle(opts, phone('checkSession')),
    getUserInfo: (opts = {}) => settle(opts, phone('getUserInfo')),
    getSetting: (opts = {}) =>
      settle(opts, Promise.resolve({ authSetting: { 'scope.userInfo': true }, errMsg: 'getSetting:ok' })),
    getStorageSync: (key) => (storage.has(key) ? storage.get(key) : ''),
    setStorageSync: (key, value) => void storage.set(key, value),
    removeStorageSync: (key) => void storage.delete(key),
  };

  // idle resolves once no wx operation is in flight, for callback-style code
  // that returns nothing to await.
  async function idle() {
    for (let quiet = 0; quiet < 3; ) {
      await new Promise((r) => setTimeout(r, 5));
      quiet = pending === 0 ? quiet + 1 : 0;
    }
  }

  return { wx, storage, log, idle, chooseAvatar, getPhoneNumber };
}

// launch loads a mini-program (its app.js and one page) as WeChat would, with
// a fresh wx for the user, and returns the app, a page instance and the shim.
function launch({ root, page, sandboxUrl, backendUrl, user }) {
  const shim = createWx({ sandboxUrl, user });
  let app;
  let pageDef;
  global.wx = shim.wx;
  global.App = (def) => { app = def; };
  global.getApp = () => app;
  global.Page = (def) => { pageDef = def; };
  for (const file of Object.keys(require.cache)) {
    if (file.startsWith(root + path.sep)) delete require.cache[file];
  }
  require(path.join(root, 'app.js'));
  if ('baseurl' in app.globalData) app.globalData.baseurl = backendUrl + '/'; // the seed's name
  else app.globalData.baseUrl = backendUrl;
  require(path.join(root, page));
  const instance = Object.assign(Object.create(pageDef), {
    data: structuredClone(pageDef.data || {}),
    setData(patch) { Object.assign(this.data, patch); },
  });
  return { app, page: instance, ...shim };
}

// setProfile sets what wx.getUserInfo returns for a sandbox user.
async function setProfile(sandboxUrl, user, profile) {
  const res = await fetch(`${sandboxUrl}/sandbox/users/${encodeURIComponent(user)}/profile`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(profile),
  });
  if (!res.ok) throw new Error(`set profile: HTTP ${res.status}`);
  return res.json();
}

module.exports = { createWx, launch, setProfile };
