const api = require('../../utils/api.js');

Page({
  data: { status: 'starting', profile: null, notify: false, error: '' },

  onLoad() {
    return this.run('profile loaded', async () => this.setData({ profile: await api.me() }));
  },

  // <button open-type="chooseAvatar">: e.detail.avatarUrl is a temporary
  // local file, which only this device can read: upload it.
  onChooseAvatar(e) {
    return this.run('avatar saved', async () => this.setData({ profile: await api.uploadAvatar(e.detail.avatarUrl) }));
  },

  // <input type="nickname">: WeChat offers the user's nickname as a
  // suggestion and checks what is typed; the backend cleans it again.
  onNickName(e) {
    const nick = (e.detail.value || '').trim();
    if (!nick) return undefined;
    return this.run('nickname saved', async () => this.setData({ profile: await api.setNickName(nick) }));
  },

  // <button open-type="getPhoneNumber">: e.detail.code is exchanged by the
  // backend with WeChat; a user who declines gives no code.
  onGetPhoneNumber(e) {
    return this.run('phone saved', async () => this.setData({ profile: await api.sharePhone(e.detail) }));
  },

  // <button bindtap="onSubscribe">: the popup of wx.requestSubscribeMessage
  // only shows in a tap's handler; the answer goes to the backend, which
  // then lets your service send one "order shipped" message.
  onSubscribe() {
    const tmpl = getApp().globalData.orderShippedTemplate;
    return this.run('subscription saved', async () => {
      const { subscriptions } = await api.subscribe([tmpl]);
      const s = subscriptions.find((x) => x.templateId === tmpl);
      this.setData({ notify: s ? s.allowed : false });
    });
  },

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
