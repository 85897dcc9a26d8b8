// Package setting reads typed configuration structs from their defaults and
// the environment, and hands each setting to a command line parser as a
// Field (Set, Type, Help). A setting is declared once, on the field that
// holds it:
//
//	type Config struct {
//		PoolSize int           `setting:"redis-pool-size" default:"0" usage:"connections per node (0: 10 per CPU)"`
//		Timeout  time.Duration `setting:"redis-timeout" default:"1s" usage:"longest a Redis call may take"`
//	}
//
// The flag is --redis-pool-size, the environment variable WXB_REDIS_POOL_SIZE.
// A struct that owns settings may check them with a Check method; problems
// name the field, not a string, so a check cannot name the wrong setting.
// Untagged struct fields are walked for more settings; other untagged fields
// are not settings.
package setting

import (
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"
)

// EnvPrefix starts every environment variable of a setting.
const EnvPrefix = "WXB_"

// FileSuffix, appended to a secret's environment variable, names a file that
// holds the secret (as container secrets are mounted).
const FileSuffix = "_FILE"

// EnvName returns the environment variable of a setting's name.
func EnvName(name string) string {
	return EnvPrefix + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
}

// Secret is a setting whose value is never printed: its String is
// "[redacted]". Its environment variable may instead name a file (…_FILE).
// Any setting whose type has a Reveal method is a secret in the same way.
type Secret string

// String returns "[redacted]", or "" for an empty secret.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return "[redacted]"
}

// GoString is String, so %#v prints no secret either.
func (s Secret) GoString() string { return s.String() }

// Reveal returns the secret's value, for the one place that uses it.
func (s Secret) Reveal() string { return string(s) }

// Checker is implemented by a struct that checks its own settings.
type Checker interface {
	Check(p *Problems)
}

// Field is one setting: where it lives and how it is described.
type Field struct {
	Name    string // flag name, e.g. "redis-pool-size"
	Default string
	Usage   string
	Secret  bool
	value   reflect.Value // addressable
}

// Env returns the field's environment variable.
func (f Field) Env() string { return EnvName(f.Name) }

// Value returns the field's current value as text, secrets redacted (a type
// with a String method prints as it says).
func (f Field) Value() string {
	v := f.value
	if s, ok := v.Interface().(fmt.Stringer); ok {
		return s.String()
	}
	if s, ok := v.Addr().Interface().(fmt.Stringer); ok {
		return s.String()
	}
	if v.Kind() == reflect.Slice {
		parts := make([]string, v.Len())
		for i := range parts {
			parts[i] = fmt.Sprint(v.Index(i).Interface())
		}
		return strings.Join(parts, ",")
	}
	return fmt.Sprint(v.Interface())
}

// Set parses text into the field.
func (f Field) Set(text string) error { return set(f.value, text) }

// Type names the kind of value the setting holds, for a flag's help: bool,
// int, duration, list or string.
func (f Field) Type() string {
	switch t := f.value.Type(); {
	case t == durationType:
		return "duration"
	case t.Kind() == reflect.Bool:
		return "bool"
	case t.Kind() == reflect.Int || t.Kind() == reflect.Int64:
		return "int"
	case t.Kind() == reflect.Slice:
		return "list"
	}
	return "string"
}

// Help is the field's usage for a flag: its meaning, its environment
// variable, and for a secret the advice to prefer the variable.
func (f Field) Help() string {
	help := f.Usage + " (env " + f.Env() + ")"
	if f.Secret {
		help += "; flags are visible to other users of the machine: prefer " + f.Env() + " or " + f.Env() + FileSuffix
	}
	return help
}

var durationType = reflect.TypeOf(time.Duration(0))

// revealer is what a secret's type has: Secret, or a type of an adapter's
// that prints itself redacted (a DSN).
var revealer = reflect.TypeOf((*interface{ Reveal() string })(nil)).Elem()

// Fields returns the settings of the struct cfg points to, in declaration
// order, nested structs included. It panics on a tag it cannot serve: that
// is a programming error every test run finds.
func Fields(cfg any) []Field {
	v := reflect.ValueOf(cfg)
	if v.Kind() != reflect.Pointer || v.Elem().Kind() != reflect.Struct {
		panic("setting: Fields needs a pointer to a struct")
	}
	var out []Field
	walk(v.Elem(), func(_ reflect.Value, f Field) { out = append(out, f) }, nil)
	return out
}

// walk calls field for each setting and checker for each struct, children first.
func walk(v reflect.Value, field func(reflect.Value, Field), checker func(reflect.Value)) {
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		sf := t.Field(i)
		fv := v.Field(i)
		name, tagged := sf.Tag.Lookup("setting")
		if !tagged {
			if sf.Type.Kind() == reflect.Struct && sf.IsExported() && sf.Type != reflect.TypeOf(time.Time{}) {
				walk(fv, field, checker)
			}
			continue
		}
		if !settable(sf.Type) {
			panic(fmt.Sprintf("setting: %s (%s) has type %s, which no setting can hold", sf.Name, name, sf.Type))
		}
		field(fv, Field{Name: name, Default: sf.Tag.Get("default"), Usage: sf.Tag.Get("usage"),
			Secret: sf.Type.Implements(revealer), value: fv})
	}
	if checker != nil && v.CanAddr() {
		if _, ok := v.Addr().Interface().(Checker); ok {
			checker(v)
		}
	}
}

func settable(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.String, reflect.Bool, reflect.Int, reflect.Int64:
		return true
	case reflect.Slice:
		return t.Elem().Kind() == reflect.String
	}
	return false
}

// set parses text into v by v's type. A duration is Go's ("1h30m") or a whole
// number of seconds; a list is comma-separated, blanks dropped.
func set(v reflect.Value, text string) error {
	switch {
	case v.Type() == durationType:
		if n, err := strconv.ParseInt(text, 10, 64); err == nil {
			v.SetInt(int64(time.Duration(n) * time.Second))
			return nil
		}
		d, err := time.ParseDuration(text)
		if err != nil {
			return errors.New(`not a duration such as "30s" or a number of seconds`)
		}
		v.SetInt(int64(d))
	case v.Kind() == reflect.String:
		v.SetString(text)
	case v.Kind() == reflect.Bool:
		b, err := strconv.ParseBool(text)
		if err != nil {
			return errors.New("not true or false")
		}
		v.SetBool(b)
	case v.Kind() == reflect.Int || v.Kind() == reflect.Int64:
		n, err := strconv.ParseInt(text, 10, 64)
		if err != nil || v.OverflowInt(n) {
			return errors.New("not a whole number")
		}
		v.SetInt(n)
	case v.Kind() == reflect.Slice:
		var items []string
		for _, s := range strings.Split(text, ",") {
			if s = strings.TrimSpace(s); s != "" {
				items = append(items, s)
			}
		}
		v.Set(reflect.ValueOf(items).Convert(v.Type()))
	}
	return nil
}

// Defaults sets every setting of the struct cfg points to to its default.
func Defaults(cfg any) {
	for _, f := range Fields(cfg) {
		if f.Default == "" {
			continue
		}
		if err := f.Set(f.Default); err != nil {
			panic(fmt.Sprintf("setting: default of %s: %v", f.Name, err))
		}
	}
}

// Source is where Prepare reads settings from besides their defaults.
type Source struct {
	Env  func(string) (string, bool)  // such as os.LookupEnv
	File func(string) ([]byte, error) // reads a …_FILE secret; such as os.ReadFile
}

// Prepare sets every setting of the struct cfg points to to its default,
// then to its environment variable's value (a secret's …_FILE read); it
// returns the environment's problems,
// each naming its variable, of the settings keep accepts (nil: all). A
// command line parser then sets the flags (Field.Set: wxbackend's binds
// each Field as a pflag.Value), and Check or CheckOnly checks the result.
func Prepare(cfg any, src Source, keep func(name string) bool) []error {
	Defaults(cfg)
	var errs []error
	for _, f := range Fields(cfg) {
		if err := fromEnv(f, src); err != nil && (keep == nil || keep(f.Name)) {
			errs = append(errs, err)
		}
	}
	return errs
}

func fromEnv(f Field, src Source) error {
	if src.Env == nil {
		return nil
	}
	text, ok := src.Env(f.Env())
	if f.Secret && src.File != nil {
		if path, isFile := src.Env(f.Env() + FileSuffix); isFile {
			if ok {
				return fmt.Errorf("%s and %s%s: set one, not both", f.Env(), f.Env(), FileSuffix)
			}
			b, err := src.File(path)
			if err != nil {
				return fmt.Errorf("%s%s: %v", f.Env(), FileSuffix, err)
			}
			text, ok = strings.TrimRight(string(b), "\r\n"), true
		}
	}
	if !ok {
		return nil
	}
	if err := f.Set(text); err != nil {
		return fmt.Errorf("%s: %w", f.Env(), err)
	}
	return nil
}

// Check runs the Check method of every struct in cfg that has one and
// returns its problems, each naming its setting.
func Check(cfg any) []error {
	return CheckOnly(cfg, nil)
}

// CheckOnly is Check keeping only the problems of the settings keep
// accepts by name (nil: all), for a command that uses only those.
func CheckOnly(cfg any, keep func(name string) bool) []error {
	p := &Problems{names: map[uintptr]string{}}
	v := reflect.ValueOf(cfg).Elem()
	walk(v, func(fv reflect.Value, f Field) { p.names[fv.Addr().Pointer()] = f.Name }, func(sv reflect.Value) {
		sv.Addr().Interface().(Checker).Check(p)
	})
	var out []error
	for i, err := range p.errs {
		if keep == nil || keep(p.of[i]) {
			out = append(out, err)
		}
	}
	return out
}

// Problems collects what Check methods find wrong.
type Problems struct {
	names map[uintptr]string
	errs  []error
	of    []string // the setting of each of errs
}

// Add records that the setting held at field (a pointer to a setting's
// field) is wrong.
func (p *Problems) Add(field any, format string, a ...any) {
	name, ok := p.names[reflect.ValueOf(field).Pointer()]
	if !ok {
		panic(fmt.Sprintf("setting: a problem with a field that is no setting: %T", field))
	}
	p.errs = append(p.errs, fmt.Errorf("%s (--%s): %s", EnvName(name), name, fmt.Sprintf(format, a...)))
	p.of = append(p.of, name)
}

// Positive adds a problem unless *d > 0.
func (p *Problems) Positive(d *time.Duration) {
	if *d <= 0 {
		p.Add(d, "must be positive")
	}
}

// NotNegative adds a problem if the number or duration field points to is
// below zero.
func (p *Problems) NotNegative(field any) {
	if reflect.ValueOf(field).Elem().Int() < 0 {
		p.Add(field, "must not be negative")
	}
}

// OneOf adds a problem unless *s is one of options.
func (p *Problems) OneOf(s *string, options ...string) {
	for _, o := range options {
		if *s == o {
			return
		}
	}
	p.Add(s, "%q is not %s", *s, strings.Join(options, ", "))
}

// Markdown returns the settings of cfg as a Markdown table: environment
// variable, default and meaning, in declaration order.
func Markdown(cfg any) string {
	var b strings.Builder
	b.WriteString("| variable (flag) | default | meaning |\n|---|---|---|\n")
	for _, f := range Fields(cfg) {
		def := "–"
		if f.Default != "" {
			def = "`" + f.Default + "`"
		}
		fmt.Fprintf(&b, "| `%s` (`--%s`) | %s | %s |\n", f.Env(), f.Name, def, strings.ReplaceAll(f.Usage, "|", `\|`))
	}
	return b.String()
}
