const api = require('../../utils/api.js');

Page({
  data: { status: 'starting', profile: null, error: '' },

  onLoad() {
    return this.run('logged in', () => api.ensureLogin());
  },

  // bound to the "share my profile" button
  onShareProfile() {
    return this.run('profile saved', async () => this.setData({ profile: await api.uploadUserInfo() }));
  },

  onRefresh() {
    return this.run('profile loaded', async () => this.setData({ profile: await api.me() }));
  },

  onLogout() {
    return this.run('logged out', async () => {
      await api.logout();
      this.setData({ profile: null });
    });
  },

  // run shows progress and errors the same way for every action.
  async run(done, action) {
    this.setData({ status: 'working', error: '' });
    try {
      await action();
      this.setData({ status: done });
    } catch (err) {
      this.setData({ status: 'failed', error: err.message });
    }
  },
});
