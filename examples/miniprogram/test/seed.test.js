// The seed tutorial's page code (seed/), run unchanged against a live backend
// and WeChat sandbox with the plain wx shim (it has no WXML to render): its
// callback-style wx calls must reach getinfo/ and get the seed's answer.
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const { launch, setProfile } = require('./wx-shim.js');

const backendUrl = process.env.WXB_BACKEND_URL;
const sandboxUrl = process.env.WXB_SANDBOX_URL;

assert.ok(backendUrl && sandboxUrl, 'WXB_BACKEND_URL and WXB_SANDBOX_URL must be set (npm test does it)');

test("the seed tutorial's page code works unchanged", async () => {
  const user = `seed-${Date.now().toString(36)}`;
  const nick = 'Seed 🌱 教程';
  await setProfile(sandboxUrl, user, { nickName: nick, language: 'zh_CN', province: 'Guangdong', country: 'CN' });
  const mp = launch({ root: path.join(__dirname, 'seed'), page: 'test.js', sandboxUrl, backendUrl, user });
  mp.app.onLaunch();
  await mp.idle();
  assert.ok(mp.wx.getStorageSync('token'), 'my_login kept a token');

  mp.page.user({ detail: {} });
  await mp.idle();
  const [getinfo] = mp.log.filter((r) => r.url.endsWith('/getinfo/'));
  assert.ok(getinfo, 'the page posted to getinfo/');
  assert.equal(getinfo.statusCode, 200);
  assert.equal(getinfo.body.status, 0);
  assert.equal(getinfo.body.msg, 'ok');
  assert.equal(getinfo.body.data.name, nick);
  assert.equal(getinfo.body.data.province, 'Guangdong');
});
