package engine

import (
	"net/mail"
	"net/netip"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/common/types/ref"
	"github.com/google/cel-go/common/types/traits"
	"golang.org/x/text/currency"
	"golang.org/x/text/language"
)

// The library of named checks: each is a `format:` short-hand of a string field and a
// CEL function of the same meaning (format email ⇔ isEmail(s)).

type namedCheck struct {
	format string // the `format:` value
	fn     string // the CEL function
	what   string // for messages: "must be a valid …"
	test   func(string) bool
}

var namedChecks = []namedCheck{
	{"email", "isEmail", "an email address", isEmail},
	{"uuid", "isUUID", "a UUID", isUUID},
	{"uri", "isURI", "an absolute URI", isURI},
	{"rfc3339", "isRFC3339", "an RFC 3339 timestamp", isRFC3339},
	{"hostname", "isHostname", "a hostname", isHostname},
	{"ip", "isIP", "an IP address", isIP},
	{"semver", "isSemver", "a semantic version", isSemver},
	{"currency", "isCurrency", "an ISO 4217 currency code", isCurrency},
	{"country", "isCountry", "an ISO 3166-1 alpha-2 country code", isCountry},
}

func formatNames() []string {
	out := make([]string, len(namedChecks))
	for i, c := range namedChecks {
		out[i] = c.format
	}
	return out
}

func lookupFormat(name string) (namedCheck, bool) {
	for _, c := range namedChecks {
		if c.format == name {
			return c, true
		}
	}
	return namedCheck{}, false
}

// libraryOptions declares the named checks as CEL functions.
func libraryOptions() []cel.EnvOption {
	var opts []cel.EnvOption
	for _, c := range namedChecks {
		test := c.test
		opts = append(opts, cel.Function(c.fn,
			cel.Overload(c.fn+"_string", []*cel.Type{cel.StringType}, cel.BoolType,
				cel.UnaryBinding(func(v ref.Val) ref.Val {
					s, ok := v.(types.String)
					if !ok {
						return types.MaybeNoSuchOverloadErr(v)
					}
					return types.Bool(test(string(s)))
				}))))
	}
	// list.sum(): the sum of a list of numbers (0 for an empty list).
	opts = append(opts, cel.Function("sum",
		cel.MemberOverload("list_double_sum", []*cel.Type{cel.ListType(cel.DoubleType)}, cel.DoubleType,
			cel.UnaryBinding(func(v ref.Val) ref.Val { return sumList(v, types.Double(0)) })),
		cel.MemberOverload("list_int_sum", []*cel.Type{cel.ListType(cel.IntType)}, cel.IntType,
			cel.UnaryBinding(func(v ref.Val) ref.Val { return sumList(v, types.Int(0)) }))))
	return opts
}

func sumList(v ref.Val, zero ref.Val) ref.Val {
	l, ok := v.(traits.Lister)
	if !ok {
		return types.MaybeNoSuchOverloadErr(v)
	}
	acc := zero
	for it := l.Iterator(); it.HasNext() == types.True; {
		a, ok := acc.(traits.Adder)
		if !ok {
			return types.MaybeNoSuchOverloadErr(acc)
		}
		acc = a.Add(it.Next())
		if types.IsError(acc) {
			return acc
		}
	}
	return acc
}

func isEmail(s string) bool {
	if len(s) > 254 || strings.ContainsAny(s, " <>\"") {
		return false
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s {
		return false
	}
	at := strings.LastIndexByte(s, '@')
	return at > 0 && isHostname(s[at+1:]) && strings.Contains(s[at+1:], ".")
}

func isUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < 36; i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
				return false
			}
		}
	}
	return true
}

func isURI(s string) bool {
	u, err := url.Parse(s)
	return err == nil && u.Scheme != "" && (u.Host != "" || u.Opaque != "" || u.Path != "")
}

func isRFC3339(s string) bool {
	_, err := time.Parse(time.RFC3339Nano, s)
	return err == nil
}

func isHostname(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	for _, label := range strings.Split(strings.TrimSuffix(s, "."), ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}

func isIP(s string) bool {
	_, err := netip.ParseAddr(s)
	return err == nil
}

var semverRE = regexp.MustCompile(`^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$`)

func isSemver(s string) bool { return semverRE.MatchString(s) }

func upperASCII(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for i := 0; i < n; i++ {
		if s[i] < 'A' || s[i] > 'Z' {
			return false
		}
	}
	return true
}

// isCurrency accepts the upper-case ISO 4217 codes that golang.org/x/text knows.
func isCurrency(s string) bool {
	if !upperASCII(s, 3) {
		return false
	}
	_, err := currency.ParseISO(s)
	return err == nil
}

// isCountry accepts upper-case ISO 3166-1 alpha-2 codes of countries (not regions
// such as EU or 001), as golang.org/x/text (CLDR) knows them.
func isCountry(s string) bool {
	if !upperASCII(s, 2) {
		return false
	}
	r, err := language.ParseRegion(s)
	return err == nil && r.IsCountry()
}
