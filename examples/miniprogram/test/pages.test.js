// The example's pages, rendered by WeChat's miniprogram-simulate and tapped as
// a user would, against a live backend and WeChat sandbox: WXB_BACKEND_URL and
// WXB_SANDBOX_URL (npm test sets them, see run.js), as the app WXB_APPID when
// the backend serves several. Each test is a new user of
// the sandbox, so the tests do not depend on each other or on what the
// database already holds.
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { openPage } = require('./simulate.js');
const { setProfile, appHeaders } = require('./wx-shim.js');

const backendUrl = process.env.WXB_BACKEND_URL;
const sandboxUrl = process.env.WXB_SANDBOX_URL;
const root = path.join(__dirname, '..');
const run = Date.now().toString(36);

assert.ok(backendUrl && sandboxUrl, 'WXB_BACKEND_URL and WXB_SANDBOX_URL must be set (npm test does it)');

const open = (page, user) => openPage({ root, page, sandboxUrl, backendUrl, user });
const calls = (log, suffix) => log.filter((r) => r.url.endsWith(suffix));

test('every page of app.json renders', async () => {
  const { pages } = JSON.parse(fs.readFileSync(path.join(root, 'app.json'), 'utf8'));
  assert.ok(pages.length >= 3);
  for (const page of pages) {
    const p = open(page, `render-${run}`);
    assert.match(p.html(), /^<page>.*<\/page>$/s, page);
  }
});

test('index: login at launch, share the profile, reload it, log out', async () => {
  const user = process.env.WXB_EXAMPLE_USER || `page-${run}`;
  const nick = 'Page 🐢 小程序 ✨';
  await setProfile(sandboxUrl, user, { nickName: nick, gender: 1, language: 'zh_CN', city: '杭州', country: 'CN' });
  const p = open('pages/index/index', user);
  await p.launch();
  assert.match(p.device.wx.getStorageSync('token'), /^[A-Za-z0-9_-]{43}\.[A-Za-z0-9_-]{22}$/, 'token kept in storage');
  await p.load();
  assert.equal(p.text('#status'), 'logged in');
  assert.equal(p.text('#nickname'), '', 'no profile shown before it is shared');

  await p.tap('#share');
  assert.equal(p.text('#error'), '');
  assert.equal(p.text('#status'), 'profile saved');
  assert.equal(p.text('#nickname'), nick);
  assert.equal(p.text('#city'), '杭州');

  await p.tap('#reload');
  assert.equal(p.text('#status'), 'profile loaded');
  assert.equal(p.text('#nickname'), nick, '/me reads the saved profile');
  assert.equal(calls(p.device.log, '/api/v1/login').length, 1, 'one login for the whole visit');

  const token = p.device.wx.getStorageSync('token');
  await p.tap('#logout');
  assert.equal(p.text('#status'), 'logged out');
  assert.equal(p.text('#nickname'), '');
  assert.equal(p.device.wx.getStorageSync('token'), '');
  const res = await fetch(`${backendUrl}/api/v1/me`, { headers: { ...appHeaders(), authorization: `Bearer ${token}` } });
  assert.equal((await res.json()).code, 2, 'the old token is revoked');
});

test("profile: avatar, nickname and phone on today's anonymous WeChat", async () => {
  const user = process.env.WXB_EXAMPLE_PROFILE_USER || `today-${run}`;
  const p = open('pages/profile/profile', user);
  await p.launch();
  await p.load();
  assert.equal(p.text('#status'), 'profile loaded', p.text('#error'));

  // getUserInfo is anonymous today: sharing it changes nothing.
  const api = require(path.join(root, 'utils/api.js'));
  const shared = await api.uploadUserInfo();
  assert.equal(shared.nickName, '', 'the anonymous 微信用户 is not saved');

  // <button open-type="chooseAvatar">: WeChat hands the page a temporary file.
  const chosen = await p.device.chooseAvatar();
  await p.tap('#avatar', 'chooseavatar', chosen.detail);
  assert.equal(p.text('#status'), 'avatar saved', p.text('#error'));
  const avatarUrl = p.data.profile.avatarUrl;
  assert.match(avatarUrl, /\/media\/avatars\/[0-9a-f]{64}\.jpg$/);
  assert.equal(calls(p.device.log, '/api/v1/me/avatar')[0].statusCode, 200);

  // <input type="nickname">: what the user typed, on change.
  await p.tap('#nickname', 'change', { value: '  Today 🌅 今天  ' });
  assert.equal(p.text('#status'), 'nickname saved', p.text('#error'));
  assert.equal(p.text('#shown-nickname'), 'Today 🌅 今天');
  assert.equal(p.data.profile.avatarUrl, avatarUrl, 'the avatar stays');

  // <button open-type="getPhoneNumber">, allowed, then declined.
  const allowed = await p.device.getPhoneNumber();
  await p.tap('#phone', 'getphonenumber', allowed.detail);
  assert.equal(p.text('#status'), 'phone saved', p.text('#error'));
  assert.match(p.text('#phone-number'), /^1\d{10}$/);
  assert.equal(p.data.profile.countryCode, '86');
  await p.tap('#phone', 'getphonenumber', { errMsg: 'getPhoneNumber:fail user deny' });
  assert.equal(p.text('#status'), 'failed', 'a declined phone is shown');
  assert.match(p.text('#error'), /user deny/);

  const img = await fetch(avatarUrl);
  assert.equal(img.status, 200);
  assert.equal(img.headers.get('content-type'), 'image/jpeg');
  const bytes = Buffer.from(await img.arrayBuffer());
  assert.deepEqual([...bytes.subarray(0, 3)], [0xff, 0xd8, 0xff], 'a JPEG');
  assert.ok(!bytes.includes('Exif'), 'no EXIF (the photo carried GPS)');
});

test('profile: the user allows a subscribe message, and the page reports it to the consent ledger', async () => {
  const user = process.env.WXB_EXAMPLE_SUBSCRIBE_USER || `subscriber-${run}`;
  const p = open('pages/profile/profile', user);
  await p.launch();
  assert.equal(p.text('#notified'), '', 'nothing promised before the tap');
  // The tap opens wx.requestSubscribeMessage's popup; the user accepts.
  await p.tap('#subscribe');
  assert.equal(p.text('#status'), 'subscription saved', p.text('#error'));
  assert.equal(p.text('#notified'), 'You will be notified');
  const [report] = calls(p.device.log, '/api/v1/me/subscriptions');
  assert.deepEqual(report.data, { wxsimOrderShippedTemplate: 'accept' });
  assert.equal(report.body.data.subscriptions[0].remaining, 1, 'one message allowed');
});

test('a revoked token (code 2) costs one new login and the tap succeeds', async () => {
  await setProfile(sandboxUrl, `revoked-${run}`, { nickName: 'Revoked', country: 'CN' });
  const p = open('pages/index/index', `revoked-${run}`);
  await p.launch();
  const old = p.device.wx.getStorageSync('token');
  const res = await fetch(`${backendUrl}/api/v1/logout`, { method: 'POST', headers: { ...appHeaders(), authorization: `Bearer ${old}` } });
  assert.equal((await res.json()).code, 0);

  await p.tap('#share');
  assert.equal(p.text('#status'), 'profile saved', p.text('#error'));
  assert.equal(p.text('#nickname'), 'Revoked');
  assert.notEqual(p.device.wx.getStorageSync('token'), old);
  assert.deepEqual(calls(p.device.log, '/api/v1/userinfo').map((r) => r.body.code), [2, 0]);
  assert.equal(calls(p.device.log, '/api/v1/login').length, 2);
});

test('data sealed under a rotated session_key (code 4) is fetched again after one login', async () => {
  const user = `rotated-${run}`;
  const p = open('pages/index/index', user);
  await p.launch();
  // wx.login elsewhere (another page, a plugin) rotates the key without
  // telling the backend: wx.getUserInfo now seals under a key it never saw.
  const res = await fetch(`${sandboxUrl}/sandbox/wx/login`, { method: 'POST', body: JSON.stringify({ user, appid: process.env.WXB_APPID }) });
  assert.ok(res.ok);

  await p.tap('#share');
  assert.equal(p.text('#status'), 'profile saved', p.text('#error'));
  assert.deepEqual(calls(p.device.log, '/api/v1/userinfo').map((r) => r.body.code), [4, 0]);
  assert.equal(calls(p.device.log, '/api/v1/login').length, 2);
});

// make run and the Go test put the demo's echo service behind the backend's
// gateway at /app/; WXB_GATEWAY=1 says it is there.
test("service: the team's own service through the gateway", { skip: !process.env.WXB_GATEWAY && 'no gateway (WXB_GATEWAY unset)' }, async () => {
  const p = open('pages/service/service', `service-${run}`);
  await p.launch();
  await p.tap('#call');
  assert.equal(p.text('#status'), 'service answered', p.text('#error'));
  const shown = p.comp.querySelectorAll('.identity').map((n) => n.dom.textContent.trim());
  assert.ok(shown.some((line) => /^X-Wx-Openid: o/.test(line)), `the service learns the openid: ${shown}`);
  assert.ok(shown.includes('X-Wx-Source: wxbackend-gateway'), shown.join(', '));
  assert.equal(p.data.answer.path, '/orders', 'the prefix is stripped');
  assert.equal(p.data.answer.headers.Authorization, undefined, 'the token is not passed on');

  // A revoked token: the gateway answers code 2, the page logs in once more.
  const old = p.device.wx.getStorageSync('token');
  await fetch(`${backendUrl}/api/v1/logout`, { method: 'POST', headers: { ...appHeaders(), authorization: `Bearer ${old}` } });
  await p.tap('#call');
  assert.equal(p.text('#status'), 'service answered', p.text('#error'));
  assert.deepEqual(calls(p.device.log, '/app/orders').map((r) => r.statusCode), [200, 401, 200]);
});

test('an error that is not about the session is shown, not retried', async () => {
  const p = open('pages/index/index', `unreachable-${run}`);
  p.app.globalData.baseUrl = 'http://127.0.0.1:1'; // nothing listens there
  await p.tap('#share');
  assert.equal(p.text('#status'), 'failed');
  assert.match(p.text('#error'), /request:fail/);
});
