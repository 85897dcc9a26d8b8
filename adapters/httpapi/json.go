package httpapi

import (
	"wxbackend/adapters/httpapi/apiclient"
	"wxbackend/domain"
)

// profileOf is a user as the v1 routes answer it.
func profileOf(u domain.User) apiclient.Profile {
	p := u.Profile
	return apiclient.Profile{
		OpenID: u.OpenID, UnionID: u.UnionID, NickName: p.NickName, AvatarURL: p.AvatarURL,
		Gender: p.Gender, Language: p.Language, City: p.City, Province: p.Province, Country: p.Country,
		PhoneNumber: u.Phone.Number, PurePhoneNumber: u.Phone.PureNumber, CountryCode: u.Phone.CountryCode,
		LinkedAccounts: accountsOf(u.Linked), UpdatedAt: u.UpdatedAt, AvatarReview: string(u.Review.State),
	}
}

func accountsOf(ids []domain.Identity) []apiclient.Account {
	var out []apiclient.Account
	for _, id := range ids {
		out = append(out, apiclient.Account{AppID: id.AppID, OpenID: id.OpenID})
	}
	return out
}

// classicProfileOf is a user as the tutorial's /getinfo/ answers it.
func classicProfileOf(u domain.User) apiclient.ClassicProfile {
	p := u.Profile
	return apiclient.ClassicProfile{Name: p.NickName, Avatar: p.AvatarURL, Language: p.Language,
		Province: p.Province, Country: p.Country, City: p.City}
}
