// The seed tutorial's page handler (test.js), reproduced as the tutorial wrote
// it: wx.getSetting, wx.checkSession, wx.getUserInfo, then wx.request POSTing
// iv, encrypedData (its spelling) and token to getinfo/ as JSON. The backend
// must serve it unchanged.
const app = getApp();

Page({
  data: {},

  user: function (e) {
    console.log('e', e.detail);
    wx.getSetting({
      success(res) {
        if (res.authSetting['scope.userInfo']) {
          wx.checkSession({
            success() {
              wx.getUserInfo({
                success: (res) => {
                  wx.request({
                    url: app.globalData.baseurl + 'getinfo/',
                    data: {
                      iv: res.iv,
                      encrypedData: res.encryptedData,
                      token: wx.getStorageSync('token'),
                    },
                    method: 'POST',
                    success: (e) => {
                      console.log('后台返回的数据', e);
                    },
                  });
                },
              });
            },
            fail() {
              app.my_login();
              wx.getUserInfo({
                success: (res) => {
                  wx.request({
                    url: app.globalData.baseurl + 'getinfo/',
                    data: {
                      iv: res.iv,
                      encrypedData: res.encryptedData,
                      token: wx.getStorageSync('token'),
                    },
                    method: 'POST',
                    success: (e) => {
                      console.log('后台返回的数据', e);
                    },
                  });
                },
              });
            },
          });
        }
      },
    });
  },
});
