package domain

// The data of a subscribe message (subscribeMessage.send's "data": keyword →
// {"value": …}), checked before a message is stored: WeChat refuses a
// value that breaks its keyword's rule with 47003, after the message was
// accepted, when no one is there to correct it. A keyword's type is its
// key without its digits (thing1 → thing, character_string5 →
// character_string). The rules are WeChat's "订阅消息参数值内容限制说明"
// (https://developers.weixin.qq.com/miniprogram/dev/api-backend/open-api/subscribe-message/subscribeMessage.send.html):
//
//	thing            事物  20个以内字符, 可汉字、数字、字母或符号组合
//	number           数字  32位以内数字, 只能数字, 可带小数
//	letter           字母  32位以内字母, 只能字母
//	symbol           符号  5位以内符号, 只能符号
//	character_string 字符串 32位以内数字、字母或符号
//	time             时间  24小时制时间格式(支持+年月日), 时间段用"~"连接, 例如 15:01, 2019年10月1日 15:01
//	date             日期  年月日格式(支持+24小时制时间), 时间段用"~"连接, 例如 2019年10月1日
//	amount           金额  1个币种符号+10位以内纯数字, 可带小数, 结尾可带"元"
//	phone_number     电话  17位以内, 数字、符号, 例 +86-0766-66888866
//	car_number       车牌  8位以内, 第一位与最后一位可为汉字, 其余为字母或数字
//	name             姓名  10个以内纯汉字或20个以内纯字母或符号; 中文和字母混合按中文名算, 10个字内
//	phrase           汉字  5个以内纯汉字
//	enum             枚举值 只能上传枚举值范围内的字段值 (the template's own list: not checked here)
//
// A type not listed (WeChat adds some) is checked only for being present
// and bounded; WeChat judges the rest.

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Bounds of a message's data.
const (
	MaxMessageKeywords = 20  // keywords of one message (templates have 5 at most)
	maxKeywordKey      = 40  // a key's length
	maxOtherValue      = 200 // a value of a type without a rule of its own
)

var keywordKey = regexp.MustCompile(`^([a-z_]+)([0-9]*)$`)

// KeywordType returns the type of a keyword's key: the key without its
// trailing digits; "" for a key that is not letters and underscores then
// digits.
func KeywordType(key string) string {
	m := keywordKey.FindStringSubmatch(key)
	if m == nil || len(key) > maxKeywordKey {
		return ""
	}
	return m[1]
}

// ValidateMessageData checks every keyword of data (key → value) against
// its type's rule. The error names the first bad keyword, "data.<key>",
// in order of key.
func ValidateMessageData(data map[string]string) error {
	if len(data) == 0 || len(data) > MaxMessageKeywords {
		return Malformed("data", fmt.Sprintf("1 to %d keywords", MaxMessageKeywords))
	}
	keys := make([]string, 0, len(data))
	for k := range data {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if err := ValidateKeyword(k, data[k]); err != nil {
			return err
		}
	}
	return nil
}

// ValidateKeyword checks one keyword's value against its type's rule.
func ValidateKeyword(key, value string) error {
	typ := KeywordType(key)
	if typ == "" {
		return Malformed("data", fmt.Sprintf("%.40q is not a keyword (letters, then digits: thing1)", key))
	}
	param := "data." + key
	if value == "" || strings.TrimSpace(value) == "" {
		return Malformed(param, "empty")
	}
	if !utf8.ValidString(value) {
		return Malformed(param, "not UTF-8")
	}
	if hasControl(value) {
		return Malformed(param, "a control character (WeChat shows text, not terminal codes)")
	}
	if problem := keywordProblem(typ, value); problem != "" {
		return Malformed(param, typ+": "+problem)
	}
	return nil
}

var (
	numberValue = regexp.MustCompile(`^[0-9]+(\.[0-9]+)?$`)
	amountValue = regexp.MustCompile(`^([^0-9.]?)([0-9]+)(\.([0-9]+))?(元?)$`)
	letterValue = regexp.MustCompile(`^[A-Za-z]+$`)
	// A time of day, hours 0-23, with seconds or not.
	clockPart = `([01]?[0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9])?`
	datePart  = `([0-9]{4}年[0-9]{1,2}月[0-9]{1,2}日|[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}|[0-9]{4}/[0-9]{1,2}/[0-9]{1,2}|[0-9]{4}\.[0-9]{1,2}\.[0-9]{1,2})`
	timeValue = regexp.MustCompile(`^(` + datePart + ` ?)?` + clockPart + `$`)
	dateValue = regexp.MustCompile(`^` + datePart + `( ?` + clockPart + `)?$`)
)

// keywordProblem returns what is wrong with value as a keyword of type
// typ, or "".
func keywordProblem(typ, value string) string {
	n := utf8.RuneCountInString(value)
	switch typ {
	case "thing":
		return atMost(n, 20, "characters")
	case "number":
		if n > 32 || !numberValue.MatchString(value) {
			return "at most 32 digits, with a decimal point or not"
		}
	case "letter":
		if n > 32 || !letterValue.MatchString(value) {
			return "at most 32 letters"
		}
	case "symbol":
		if n > 5 || !every(value, isSymbol) {
			return "at most 5 symbols"
		}
	case "character_string":
		if n > 32 || !every(value, func(r rune) bool { return r < utf8.RuneSelf && (isASCIIAlnum(r) || isSymbol(r)) }) {
			return "at most 32 digits, letters or symbols"
		}
	case "phrase":
		if n > 5 || !every(value, isHan) {
			return "at most 5 Chinese characters"
		}
	case "name":
		return nameProblem(value, n)
	case "amount":
		return amountProblem(value)
	case "phone_number":
		if n > 17 || !every(value, func(r rune) bool { return (r >= '0' && r <= '9') || isSymbol(r) || r == ' ' }) {
			return "at most 17 digits and symbols"
		}
	case "car_number":
		return carNumberProblem(value, n)
	case "time":
		return periodProblem(value, timeValue, "a 24-hour time, with a date or not (15:01, 2019年10月1日 15:01), or two joined by ~")
	case "date":
		return periodProblem(value, dateValue, "a date, with a 24-hour time or not (2019年10月1日, 2019-10-01 15:01), or two joined by ~")
	default:
		return atMost(n, maxOtherValue, "characters")
	}
	return ""
}

func atMost(n, max int, what string) string {
	if n > max {
		return fmt.Sprintf("at most %d %s", max, what)
	}
	return ""
}

// nameProblem: a Chinese name (any Han in it) of at most 10 characters,
// Han or letters; else a name of at most 20 letters, symbols and spaces.
func nameProblem(value string, n int) string {
	if strings.IndexFunc(value, isHan) >= 0 {
		if n > 10 || !every(value, func(r rune) bool { return isHan(r) || unicode.IsLetter(r) || r == '·' }) {
			return "at most 10 Chinese characters (a name mixing Chinese and letters counts as Chinese)"
		}
		return ""
	}
	if n > 20 || !every(value, func(r rune) bool { return unicode.IsLetter(r) || isSymbol(r) || r == ' ' }) {
		return "at most 20 letters or symbols"
	}
	return ""
}

// amountProblem: one currency symbol or none, at most 10 digits with a
// decimal part or not, and 元 at the end or not.
func amountProblem(value string) string {
	m := amountValue.FindStringSubmatch(value)
	if m == nil || len(m[2])+len(m[4]) > 10 || (m[1] != "" && !isSymbol([]rune(m[1])[0])) {
		return "a currency symbol or none, at most 10 digits (a decimal part or not), 元 at the end or not"
	}
	return ""
}

// carNumberProblem: at most 8 characters, the first and the last may be
// Chinese, the others letters or digits.
func carNumberProblem(value string, n int) string {
	rs := []rune(value)
	ok := n <= 8
	for i, r := range rs {
		if isASCIIAlnum(r) || ((i == 0 || i == len(rs)-1) && isHan(r)) {
			continue
		}
		ok = false
	}
	if !ok {
		return "at most 8 characters: letters and digits, the first and the last may be Chinese (粤A8Z888挂)"
	}
	return ""
}

// periodProblem: one point in time, or two joined by "~".
func periodProblem(value string, re *regexp.Regexp, want string) string {
	parts := strings.Split(value, "~")
	if len(parts) > 2 {
		return want
	}
	for _, p := range parts {
		if !re.MatchString(strings.TrimSpace(p)) {
			return want
		}
	}
	return ""
}

func every(s string, ok func(rune) bool) bool {
	for _, r := range s {
		if !ok(r) {
			return false
		}
	}
	return true
}

func isHan(r rune) bool { return unicode.Is(unicode.Han, r) }

func isASCIIAlnum(r rune) bool {
	return (r >= '0' && r <= '9') || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z')
}

// isSymbol: punctuation or a symbol, ASCII or not (¥, ￥, －).
func isSymbol(r rune) bool { return unicode.IsPunct(r) || unicode.IsSymbol(r) }
