// The mini-program's entry. It logs in at launch, so the first page that
// needs the backend usually finds a session ready.
const api = require('./utils/api.js');

App({
  globalData: {
    // Your backend. WeChat requires HTTPS and a domain listed in the
    // mini-program's settings; `make run` serves http://127.0.0.1:8080, which
    // the developer tools accept with "do not verify domain names" ticked.
    baseUrl: 'http://127.0.0.1:8080',
    // Your subscribe message template (the console's 订阅消息 list), which
    // your service sends through the backend's POST /v1/messages.
    orderShippedTemplate: 'wxsimOrderShippedTemplate',
  },

  onLaunch() {
    // Failure here is not fatal: every api call logs in again if it must.
    return api.ensureLogin().catch((err) => console.warn('login at launch failed:', err.message));
  },
});
