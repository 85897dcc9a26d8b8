package httpapi

import (
	"time"

	"wxbackend/domain"
)

// loginJSON is the data of a successful login. User is set on the v1 route only.
type loginJSON struct {
	Token     string       `json:"token"`
	ExpiresIn int64        `json:"expires_in"` // seconds
	User      *profileJSON `json:"user,omitempty"`
}

// profileJSON is a user's profile with WeChat's own names.
type profileJSON struct {
	OpenID    string    `json:"openId"`
	UnionID   string    `json:"unionId"`
	NickName  string    `json:"nickName"`
	AvatarURL string    `json:"avatarUrl"`
	Gender    int       `json:"gender"`
	Language  string    `json:"language"`
	City      string    `json:"city"`
	Province  string    `json:"province"`
	Country   string    `json:"country"`
	UpdatedAt time.Time `json:"updatedAt"`
}

func profileOf(u domain.User) profileJSON {
	p := u.Profile
	return profileJSON{
		OpenID: u.OpenID, UnionID: u.UnionID, NickName: p.NickName, AvatarURL: p.AvatarURL,
		Gender: p.Gender, Language: p.Language, City: p.City, Province: p.Province, Country: p.Country,
		UpdatedAt: u.UpdatedAt,
	}
}

// classicProfileJSON is the tutorial's save_data.
type classicProfileJSON struct {
	Name     string `json:"name"`
	Avatar   string `json:"avatar"`
	Language string `json:"language"`
	Province string `json:"province"`
	Country  string `json:"country"`
	City     string `json:"city"`
}

func classicProfileOf(u domain.User) classicProfileJSON {
	p := u.Profile
	return classicProfileJSON{Name: p.NickName, Avatar: p.AvatarURL, Language: p.Language,
		Province: p.Province, Country: p.Country, City: p.City}
}
