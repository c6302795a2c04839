package engine

import (
	"context"
	"strings"
	"testing"
)

// TestNamedChecks: each named check, as a function and as a CEL function in a rule.
func TestNamedChecks(t *testing.T) {
	cases := map[string]struct{ good, bad []string }{
		"email": {[]string{"ana@mail.test", "a.b+c@sub.example.org", "ANA@MAIL.TEST", "a@b.c", "!#$%&'*+-/=?^_`{|}~@mail.test", "josé@mail.test",
			"ana@192.0.2.1", "ana@xn--bcher-kva.example", strings.Repeat("a", 200) + "@" + strings.Repeat("b", 48) + ".test"},
			[]string{"", "ana", "ana@", "@mail.test", "Ana <ana@mail.test>", "<ana@mail.test>", "ana@mail", "a b@mail.test", "ana@-mail.test",
				`"ana"@mail.test`, `"a b"@mail.test`, "ana@[192.0.2.1]", "ana@localhost", ".ana@mail.test", "ana.@mail.test", "a..na@mail.test",
				"ana@mail.test.", "ana@bücher.example", "ana@mail_x.test", "ana@mail.test(Ana)", "ana@mail.test (Ana)", "\tana@mail.test",
				"a@b@mail.test", "ana@mail..test", "a(b)@mail.test", "a\\b@mail.test",
				strings.Repeat("a", 200) + "@" + strings.Repeat("b", 49) + ".test"}},
		"uuid":     {[]string{"6f1c2a7e-0b7e-4c8e-9a43-2f1d7b1e9c11", "6F1C2A7E-0B7E-4C8E-9A43-2F1D7B1E9C11"}, []string{"", "6f1c2a7e0b7e4c8e9a432f1d7b1e9c11", "6f1c2a7e-0b7e-4c8e-9a43-2f1d7b1e9c1g", "{6f1c2a7e-0b7e-4c8e-9a43-2f1d7b1e9c11}"}},
		"uri":      {[]string{"https://example.org/x?y=1", "urn:isbn:0451450523", "mailto:a@b.c"}, []string{"", "example.org/x", "/relative", "://x"}},
		"rfc3339":  {[]string{"2026-02-04T14:00:15-03:00", "2026-02-04T14:00:15.123Z"}, []string{"", "2026-02-04", "2026-02-04 14:00:15Z", "yesterday", "2026-13-04T14:00:15Z"}},
		"hostname": {[]string{"example.org", "a-b.c1.example", "localhost", "example.org."}, []string{"", "-a.org", "a..b", "a_b.org", "exa mple.org"}},
		"ip":       {[]string{"192.0.2.1", "2001:db8::1", "::1"}, []string{"", "256.1.1.1", "1.2.3", "example.org"}},
		"semver":   {[]string{"1.2.3", "0.0.1-alpha.1+build.5", "10.20.30"}, []string{"", "1.2", "v1.2.3", "01.2.3", "1.2.3-"}},
		"currency": {[]string{"EUR", "USD", "BRL", "JPY"}, []string{"", "eur", "EURO", "ABC", "E1R"}},
		"country":  {[]string{"BR", "US", "DE", "JP"}, []string{"", "br", "BRA", "ZZ", "EU", "AA", "001"}},
	}
	if len(cases) != len(namedChecks) {
		t.Fatalf("%d named checks, %d tested", len(namedChecks), len(cases))
	}
	for _, nc := range namedChecks {
		c, ok := cases[nc.format]
		if !ok {
			t.Errorf("named check %s has no test", nc.format)
			continue
		}
		for _, s := range c.good {
			if !nc.test(s) {
				t.Errorf("%s(%q) = false, want true", nc.fn, s)
			}
		}
		for _, s := range c.bad {
			if nc.test(s) {
				t.Errorf("%s(%q) = true, want false", nc.fn, s)
			}
		}
	}
	// The same functions in a rule, and as a format.
	rs := ruleset(t, map[string]string{"t.yaml": `type: t
versions:
  v1:
    fields:
      c: {type: string, required: true, format: currency}
      k: {type: string, required: true}
    rules:
      - id: country
        expr: isCountry(body.k) && isCurrency(body.c)
`})
	ev := func(c, k string) *Verdict {
		return rs.Evaluate(context.Background(), `{"event_id":"e","event_type":"t","schema_version":"v1","tenant_id":"x","body":{"c":"`+c+`","k":"`+k+`"}}`)
	}
	if v := ev("EUR", "DE"); v.Outcome != Valid {
		t.Errorf("EUR/DE: %s", v.Reason())
	}
	if v := ev("EUR", "XX"); v.Outcome != Invalid || v.Violations[0].Rule != "country" {
		t.Errorf("EUR/XX: %s %v", v.Outcome, v.Violations)
	}
	if v := ev("EURO", "DE"); v.Outcome != Invalid || v.Violations[0].Rule != "body.c.format" {
		t.Errorf("EURO/DE: %s %v", v.Outcome, v.Violations)
	}
}
