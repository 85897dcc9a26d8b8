package domain

// ValidJSON reports whether b is one JSON value (RFC 8259) with blank space
// around it, as encoding/json's Valid does (FuzzValidJSON checks they
// agree). It walks the text once with plain loops where json.Valid calls a
// step function for every byte: on a request or a payload that is mostly a
// string (base64), that was about a sixth of a /getinfo/'s instructions.
func ValidJSON[T string | []byte](b T) bool {
	i, ok := jsonValue(b, skipBlank(b, 0), 0)
	return ok && skipBlank(b, i) == len(b)
}

// maxJSONDepth is encoding/json's bound on nested objects and arrays.
const maxJSONDepth = 10000

func skipBlank[T string | []byte](b T, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// jsonValue returns the index just after the value starting at b[i].
func jsonValue[T string | []byte](b T, i, depth int) (int, bool) {
	if i >= len(b) {
		return i, false
	}
	switch c := b[i]; {
	case c == '{' || c == '[':
		return jsonComposite(b, i, depth+1)
	case c == '"':
		return jsonString(b, i)
	case c == 't':
		return jsonLiteral(b, i, "true")
	case c == 'f':
		return jsonLiteral(b, i, "false")
	case c == 'n':
		return jsonLiteral(b, i, "null")
	case c == '-' || '0' <= c && c <= '9':
		return jsonNumber(b, i)
	}
	return i, false
}

// jsonComposite returns the index just after the object or array starting
// at b[i].
func jsonComposite[T string | []byte](b T, i, depth int) (int, bool) {
	if depth > maxJSONDepth {
		return i, false
	}
	object, end := b[i] == '{', byte(']')
	if object {
		end = '}'
	}
	i = skipBlank(b, i+1)
	if i < len(b) && b[i] == end {
		return i + 1, true
	}
	for {
		var ok bool
		if object {
			if i >= len(b) || b[i] != '"' {
				return i, false
			}
			if i, ok = jsonString(b, i); !ok {
				return i, false
			}
			if i = skipBlank(b, i); i >= len(b) || b[i] != ':' {
				return i, false
			}
			i = skipBlank(b, i+1)
		}
		if i, ok = jsonValue(b, i, depth); !ok {
			return i, false
		}
		if i = skipBlank(b, i); i >= len(b) {
			return i, false
		}
		switch b[i] {
		case ',':
			i = skipBlank(b, i+1)
		case end:
			return i + 1, true
		default:
			return i, false
		}
	}
}

// jsonString returns the index just after the string starting at b[i]
// ('"'): bytes from 0x20 on (any, as encoding/json admits) and escapes.
func jsonString[T string | []byte](b T, i int) (int, bool) {
	for i++; i < len(b); i++ {
		switch c := b[i]; {
		case c == '"':
			return i + 1, true
		case c < 0x20:
			return i, false
		case c == '\\':
			if i++; i >= len(b) {
				return i, false
			}
			switch b[i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				for k := 0; k < 4; k++ {
					if i++; i >= len(b) || !isHex(b[i]) {
						return i, false
					}
				}
			default:
				return i, false
			}
		}
	}
	return i, false
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func jsonLiteral[T string | []byte](b T, i int, lit string) (int, bool) {
	if len(b)-i < len(lit) || string(b[i:i+len(lit)]) != lit {
		return i, false
	}
	return i + len(lit), true
}

// jsonNumber returns the index just after the number starting at b[i]:
// -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func jsonNumber[T string | []byte](b T, i int) (int, bool) {
	if b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && '1' <= b[i] && b[i] <= '9':
		i = digits(b, i)
	default:
		return i, false
	}
	if i < len(b) && b[i] == '.' {
		if i++; i >= len(b) || !isDigit(b[i]) {
			return i, false
		}
		i = digits(b, i)
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		if i++; i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if i >= len(b) || !isDigit(b[i]) {
			return i, false
		}
		i = digits(b, i)
	}
	return i, true
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func digits[T string | []byte](b T, i int) int {
	for i < len(b) && isDigit(b[i]) {
		i++
	}
	return i
}
