const api = require('../../utils/api.js');

// The team's own service, reached through the backend's built-in gateway:
// the page calls a business route with the same token as every other call,
// and shows what the service answered. `make run` puts the demo's echo
// service at /app/, which answers the identity headers it received.
Page({
  data: { status: '', answer: null, identity: [], error: '' },

  async onCallService() {
    this.setData({ status: 'working', error: '' });
    try {
      const answer = await api.callService('/app/orders');
      const identity = Object.entries((answer && answer.identity) || {}).map(([name, value]) => ({ name, value }));
      this.setData({ status: 'service answered', answer, identity });
    } catch (err) {
      this.setData({ status: 'failed', error: err.message });
    }
  },
});
