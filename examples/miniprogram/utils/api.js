// The one code path between this mini-program and wxbackend.
//
//   ensureLogin()      a token in storage, logging in if there is none
//   login()            wx.login, then POST /api/v1/login; keeps the token
//   uploadUserInfo()   wx.getUserInfo, then POST /api/v1/userinfo (anonymous on
//                      today's WeChat: it changes nothing the user filled in)
//   uploadAvatar(path) wx.uploadFile of the image <button open-type="chooseAvatar">
//                      gave, to POST /api/v1/me/avatar
//   setNickName(nick)  what <input type="nickname"> gave, to POST /api/v1/me/profile
//   sharePhone(detail) what <button open-type="getPhoneNumber"> gave (its code), to
//                      POST /api/v1/me/phone
//   subscribe(tmplIds) wx.requestSubscribeMessage (must follow a tap), then the
//                      answers to POST /api/v1/me/subscriptions, so the backend
//                      may send that many subscribe messages
//   me(), logout()
//   callService(path)  a business route of the team's own service, behind the
//                      backend's built-in gateway (e.g. /app/orders): same token,
//                      the service's own answer
//
// Every authenticated call goes through `authed`, which handles the two
// answers that mean "log in again" (see the backend's API codes):
//   2  the token is missing, unknown, expired or revoked;
//   4  the encrypted data was sealed under a session_key the backend no longer
//      holds (the user logged in again somewhere), so it must be fetched again.
// It logs in once and retries once; any other code is the caller's to show.

const TOKEN = 'token';
const RELOGIN_CODES = [2, 4];

class ApiError extends Error {
  constructor(envelope) {
    super(`code ${envelope.code}: ${envelope.msg}`);
    this.code = envelope.code;
    this.envelope = envelope;
  }
}

// wxCall turns a callback-style wx API into a promise.
function wxCall(name, options = {}) {
  return new Promise((resolve, reject) => {
    wx[name]({
      ...options,
      success: resolve,
      fail: (err) => reject(new Error(`wx.${name}: ${(err && err.errMsg) || 'failed'}`)),
    });
  });
}

// request sends one request and resolves with the backend's envelope
// {code, status, msg, data}; wx.request calls success for every HTTP status.
function request(path, { method = 'POST', data, token } = {}) {
  const header = { 'content-type': 'application/json' };
  if (token) header.Authorization = `Bearer ${token}`;
  return new Promise((resolve, reject) => {
    wx.request({
      url: getApp().globalData.baseUrl + path,
      method,
      data,
      header,
      success: (res) => {
        const env = res.data;
        if (env && typeof env === 'object' && typeof env.code === 'number') resolve(env);
        else reject(new Error(`${path}: HTTP ${res.statusCode}, not a wxbackend answer`));
      },
      fail: (err) => reject(new Error(`${path}: ${(err && err.errMsg) || 'network error'}`)),
    });
  });
}

async function login() {
  // A code WeChat rejects (code 3) is worth one fresh wx.login.
  for (let attempt = 0; ; attempt++) {
    const { code } = await wxCall('login');
    const env = await request('/api/v1/login', { data: { code } });
    if (env.code === 0) {
      wx.setStorageSync(TOKEN, env.data.token);
      return env.data;
    }
    if (env.code !== 3 || attempt > 0) throw new ApiError(env);
  }
}

async function ensureLogin() {
  if (!wx.getStorageSync(TOKEN)) await login();
}

// authed calls path with the stored token. makeData, when given, is called for
// each attempt, so data tied to a session_key is fetched again after a login.
async function authed(path, { method = 'POST', makeData } = {}) {
  await ensureLogin();
  for (let attempt = 0; ; attempt++) {
    const data = makeData ? await makeData() : undefined;
    const env = await request(path, { method, data, token: wx.getStorageSync(TOKEN) });
    if (env.code === 0) return env.data;
    if (!RELOGIN_CODES.includes(env.code) || attempt > 0) throw new ApiError(env);
    wx.removeStorageSync(TOKEN);
    await login();
  }
}

function uploadUserInfo() {
  return authed('/api/v1/userinfo', {
    makeData: async () => {
      const res = await wxCall('getUserInfo', { withCredentials: true, lang: 'zh_CN' });
      return { encryptedData: res.encryptedData, iv: res.iv, rawData: res.rawData, signature: res.signature };
    },
  });
}

// upload sends a file as wx.uploadFile does (multipart/form-data) and
// resolves with the backend's envelope; uploadFile hands back the body as
// text, unlike wx.request.
function upload(path, filePath, { name = 'avatar', token } = {}) {
  const header = token ? { Authorization: `Bearer ${token}` } : {};
  return new Promise((resolve, reject) => {
    wx.uploadFile({
      url: getApp().globalData.baseUrl + path,
      filePath,
      name,
      header,
      success: (res) => {
        let env;
        try {
          env = typeof res.data === 'string' ? JSON.parse(res.data) : res.data;
        } catch (_) {}
        if (env && typeof env.code === 'number') resolve(env);
        else reject(new Error(`${path}: HTTP ${res.statusCode}, not a wxbackend answer`));
      },
      fail: (err) => reject(new Error(`${path}: ${(err && err.errMsg) || 'upload failed'}`)),
    });
  });
}

// uploadAvatar uploads the image the user chose; a token the backend no
// longer knows costs one login and one retry, as for every call.
async function uploadAvatar(tempFilePath) {
  await ensureLogin();
  for (let attempt = 0; ; attempt++) {
    const env = await upload('/api/v1/me/avatar', tempFilePath, { token: wx.getStorageSync(TOKEN) });
    if (env.code === 0) return env.data;
    if (env.code !== 2 || attempt > 0) throw new ApiError(env);
    wx.removeStorageSync(TOKEN);
    await login();
  }
}

function setNickName(nickName) {
  return authed('/api/v1/me/profile', { makeData: async () => ({ nickName }) });
}

// sharePhone sends getPhoneNumber's code (today's way; older clients also
// get encryptedData and iv, which the backend reads too).
function sharePhone(detail) {
  if (!detail || !detail.code) return Promise.reject(new Error(`getPhoneNumber: ${(detail && detail.errMsg) || 'denied'}`));
  return authed('/api/v1/me/phone', { makeData: async () => ({ code: detail.code }) });
}

// subscribe asks the user to allow subscribe messages of tmplIds (at most
// 3; WeChat shows the popup only in a tap's handler) and reports every
// answer, accepted or not, to the consent ledger: each accept of a one-time
// template lets the backend send one message. A dismissed popup (the fail
// callback) reports nothing.
async function subscribe(tmplIds) {
  const res = await wxCall('requestSubscribeMessage', { tmplIds });
  const answers = {};
  for (const id of tmplIds) if (typeof res[id] === 'string') answers[id] = res[id];
  if (Object.keys(answers).length === 0) return { subscriptions: [] };
  return authed('/api/v1/me/subscriptions', { makeData: async () => answers });
}

function me() {
  return authed('/api/v1/me', { method: 'GET' });
}

async function logout() {
  const token = wx.getStorageSync(TOKEN);
  wx.removeStorageSync(TOKEN);
  if (token) await request('/api/v1/logout', { token });
}

// callService calls a route of the team's own service through the backend's
// built-in gateway, which checks the token and tells the service who calls
// (X-WX-OPENID…): the service needs no login code of its own. Its answer is
// the service's, not an envelope; the gateway's own refusals are envelopes
// (code 2: log in again and retry once, as everywhere; 7, 8, 11: shown).
async function callService(path, { method = 'GET', data } = {}) {
  await ensureLogin();
  for (let attempt = 0; ; attempt++) {
    const res = await new Promise((resolve, reject) => {
      wx.request({
        url: getApp().globalData.baseUrl + path,
        method,
        data,
        header: { Authorization: `Bearer ${wx.getStorageSync(TOKEN)}` },
        success: resolve,
        fail: (err) => reject(new Error(`${path}: ${(err && err.errMsg) || 'network error'}`)),
      });
    });
    const env = res.data;
    const refused = res.statusCode >= 400 && env && typeof env === 'object' && typeof env.code === 'number';
    if (!refused) return res.data;
    if (env.code !== 2 || attempt > 0) throw new ApiError(env);
    wx.removeStorageSync(TOKEN);
    await login();
  }
}

module.exports = { ApiError, ensureLogin, login, uploadUserInfo, uploadAvatar, setNickName, sharePhone, subscribe, me, logout, callService };
