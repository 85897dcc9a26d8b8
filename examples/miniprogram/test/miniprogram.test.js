// Runs the example mini-program's own code, and the seed tutorial's, against
// a live backend and WeChat sandbox. The Go test in ../harness_test.go starts
// both and sets WXB_BACKEND_URL, WXB_SANDBOX_URL and WXB_EXAMPLE_USER.
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const { launch, setProfile } = require('./wx-shim.js');

const backendUrl = process.env.WXB_BACKEND_URL;
const sandboxUrl = process.env.WXB_SANDBOX_URL;
const root = path.join(__dirname, '..');
const run = Date.now().toString(36);

assert.ok(backendUrl && sandboxUrl, 'WXB_BACKEND_URL and WXB_SANDBOX_URL must be set (run through go test)');

function example(user) {
  return launch({ root, page: 'pages/index/index.js', sandboxUrl, backendUrl, user });
}

const calls = (log, suffix) => log.filter((r) => r.url.endsWith(suffix));

test('the example logs in at launch, shares the profile and reads it back', async () => {
  const user = process.env.WXB_EXAMPLE_USER || `page-${run}`;
  const nick = 'Page 🐢 小程序 ✨';
  await setProfile(sandboxUrl, user, { nickName: nick, gender: 1, language: 'zh_CN', city: '杭州', country: 'CN' });
  const mp = example(user);
  await mp.app.onLaunch();
  assert.match(mp.wx.getStorageSync('token'), /^[A-Za-z0-9_-]{43}\.[A-Za-z0-9_-]{22}$/, 'token kept in storage');
  await mp.page.onLoad();
  assert.equal(mp.page.data.status, 'logged in');

  await mp.page.onShareProfile();
  assert.equal(mp.page.data.error, '');
  assert.equal(mp.page.data.status, 'profile saved');
  assert.equal(mp.page.data.profile.nickName, nick);
  assert.equal(mp.page.data.profile.city, '杭州');

  await mp.page.onRefresh();
  assert.equal(mp.page.data.profile.nickName, nick, '/me reads the saved profile');
  assert.equal(calls(mp.log, '/api/v1/login').length, 1, 'one login for the whole visit');
});

test("the profile page fills in avatar and nickname on today's anonymous WeChat", async () => {
  const user = process.env.WXB_EXAMPLE_PROFILE_USER || `today-${run}`;
  const mp = launch({ root, page: 'pages/profile/profile.js', sandboxUrl, backendUrl, user });
  await mp.app.onLaunch();
  await mp.page.onLoad();
  assert.equal(mp.page.data.status, 'profile loaded', mp.page.data.error);

  // getUserInfo is anonymous today: sharing it changes nothing.
  const api = require(path.join(root, 'utils/api.js'));
  const shared = await api.uploadUserInfo();
  assert.equal(shared.nickName, '', 'the anonymous 微信用户 is not saved');

  await mp.page.onChooseAvatar(await mp.chooseAvatar());
  assert.equal(mp.page.data.status, 'avatar saved', mp.page.data.error);
  const avatarUrl = mp.page.data.profile.avatarUrl;
  assert.match(avatarUrl, /\/media\/avatars\/[0-9a-f]{64}\.jpg$/);
  const [upload] = calls(mp.log, '/api/v1/me/avatar');
  assert.equal(upload.statusCode, 200);

  await mp.page.onNickName({ detail: { value: '  Today 🌅 今天  ' } });
  assert.equal(mp.page.data.status, 'nickname saved', mp.page.data.error);
  assert.equal(mp.page.data.profile.nickName, 'Today 🌅 今天');
  assert.equal(mp.page.data.profile.avatarUrl, avatarUrl, 'the avatar stays');

  await mp.page.onGetPhoneNumber(await mp.getPhoneNumber());
  assert.equal(mp.page.data.status, 'phone saved', mp.page.data.error);
  assert.match(mp.page.data.profile.purePhoneNumber, /^1\d{10}$/);
  assert.equal(mp.page.data.profile.countryCode, '86');
  await mp.page.onGetPhoneNumber({ detail: { errMsg: 'getPhoneNumber:fail user deny' } });
  assert.equal(mp.page.data.status, 'failed', 'a declined phone is shown');

  const img = await fetch(avatarUrl);
  assert.equal(img.status, 200);
  assert.equal(img.headers.get('content-type'), 'image/jpeg');
  const bytes = Buffer.from(await img.arrayBuffer());
  assert.deepEqual([...bytes.subarray(0, 3)], [0xff, 0xd8, 0xff], 'a JPEG');
  assert.ok(!bytes.includes('Exif'), 'no EXIF (the photo carried GPS)');
});

test('a revoked token (code 2) costs one new login and the call succeeds', async () => {
  const mp = example(`revoked-${run}`);
  await mp.app.onLaunch();
  const old = mp.wx.getStorageSync('token');
  const res = await fetch(`${backendUrl}/api/v1/logout`, { method: 'POST', headers: { authorization: `Bearer ${old}` } });
  assert.equal((await res.json()).code, 0);

  await mp.page.onShareProfile();
  assert.equal(mp.page.data.status, 'profile saved', mp.page.data.error);
  assert.notEqual(mp.wx.getStorageSync('token'), old);
  assert.deepEqual(calls(mp.log, '/api/v1/userinfo').map((r) => r.body.code), [2, 0]);
  assert.equal(calls(mp.log, '/api/v1/login').length, 2);
});

test('data sealed under a rotated session_key (code 4) is fetched again after one login', async () => {
  const user = `rotated-${run}`;
  const mp = example(user);
  await mp.app.onLaunch();
  // wx.login elsewhere (another page, a plugin) rotates the key without
  // telling the backend: wx.getUserInfo now seals under a key it never saw.
  const res = await fetch(`${sandboxUrl}/sandbox/wx/login`, { method: 'POST', body: JSON.stringify({ user }) });
  assert.ok(res.ok);

  await mp.page.onShareProfile();
  assert.equal(mp.page.data.status, 'profile saved', mp.page.data.error);
  assert.deepEqual(calls(mp.log, '/api/v1/userinfo').map((r) => r.body.code), [4, 0]);
  assert.equal(calls(mp.log, '/api/v1/login').length, 2);
});

// The Go harness puts the demo's echo service behind the backend's gateway
// at /app/, as make run does, and sets WXB_GATEWAY.
test("the service page calls the team's own service through the gateway", { skip: !process.env.WXB_GATEWAY && 'no gateway (WXB_GATEWAY unset)' }, async () => {
  const mp = launch({ root, page: 'pages/service/service.js', sandboxUrl, backendUrl, user: `service-${run}` });
  await mp.app.onLaunch();
  await mp.page.onCallService();
  assert.equal(mp.page.data.status, 'service answered', mp.page.data.error);
  const got = Object.fromEntries(mp.page.data.identity.map(({ name, value }) => [name, value]));
  assert.match(got['X-Wx-Openid'], /^o/, 'the service learns the openid');
  assert.equal(got['X-Wx-Source'], 'wxbackend-gateway');
  assert.equal(mp.page.data.answer.path, '/orders', 'the prefix is stripped');
  assert.equal(mp.page.data.answer.headers.Authorization, undefined, 'the token is not passed on');

  // A revoked token: the gateway answers code 2, the page logs in once more.
  const old = mp.wx.getStorageSync('token');
  await fetch(`${backendUrl}/api/v1/logout`, { method: 'POST', headers: { authorization: `Bearer ${old}` } });
  await mp.page.onCallService();
  assert.equal(mp.page.data.status, 'service answered', mp.page.data.error);
  assert.deepEqual(calls(mp.log, '/app/orders').map((r) => r.statusCode), [200, 401, 200]);
});

test('an error that is not about the session is shown, not retried', async () => {
  const mp = example(`unreachable-${run}`);
  mp.app.globalData.baseUrl = 'http://127.0.0.1:1'; // nothing listens there
  await mp.page.onShareProfile();
  assert.equal(mp.page.data.status, 'failed');
  assert.match(mp.page.data.error, /request:fail/);
});

test("the seed tutorial's page code works unchanged", async () => {
  const user = `seed-${run}`;
  const nick = 'Seed 🌱 教程';
  await setProfile(sandboxUrl, user, { nickName: nick, language: 'zh_CN', province: 'Guangdong', country: 'CN' });
  const mp = launch({ root: path.join(__dirname, 'seed'), page: 'test.js', sandboxUrl, backendUrl, user });
  mp.app.onLaunch();
  await mp.idle();
  assert.ok(mp.wx.getStorageSync('token'), 'my_login kept a token');

  mp.page.user({ detail: {} });
  await mp.idle();
  const [getinfo] = calls(mp.log, '/getinfo/');
  assert.ok(getinfo, 'the page posted to getinfo/');
  assert.equal(getinfo.statusCode, 200);
  assert.equal(getinfo.body.status, 0);
  assert.equal(getinfo.body.msg, 'ok');
  assert.equal(getinfo.body.data.name, nick);
  assert.equal(getinfo.body.data.province, 'Guangdong');
});

test('the profile page asks for a subscription and reports it', async () => {
  const user = process.env.WXB_EXAMPLE_SUBSCRIBE_USER || `subscriber-${run}`;
  const mp = launch({ root, page: 'pages/profile/profile.js', sandboxUrl, backendUrl, user });
  await mp.app.onLaunch();
  await mp.page.onSubscribe();
  assert.equal(mp.page.data.status, 'subscription saved', mp.page.data.error);
  assert.equal(mp.page.data.notify, true);
  const [report] = calls(mp.log, '/api/v1/me/subscriptions');
  assert.deepEqual(report.data, { wxsimOrderShippedTemplate: 'accept' });
  assert.equal(report.body.data.subscriptions[0].remaining, 1);
});
