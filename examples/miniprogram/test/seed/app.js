// The seed tutorial's app, as its client code assumes it: a baseurl ending in
// '/', and app.my_login(), which the tutorial calls but does not show, written
// the way its login/ route expects (POST the code, keep the token).
App({
  globalData: { baseurl: 'http://127.0.0.1:8080/' },

  onLaunch() {
    this.my_login();
  },

  my_login() {
    wx.login({
      success: (res) => {
        wx.request({
          url: this.globalData.baseurl + 'login/',
          data: { code: res.code },
          method: 'POST',
          success: (e) => {
            wx.setStorageSync('token', e.data.data.token);
          },
        });
      },
    });
  },
});
