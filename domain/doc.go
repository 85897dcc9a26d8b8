// Package domain holds the rules of wxbackend: sessions and their tokens, users
// and their profiles, and the checks a decrypted WeChat payload must pass before
// it is saved. It imports the standard library only.
package domain
