package clerkauth

import "testing"

// typicalV2Payload is a v2 session token payload with an organization,
// three features, a plan and fpm-encoded permissions.
const typicalV2Payload = `{"azp":"https://app.example.com","exp":1800000060,` +
	`"fea":"o:dashboard,o:teams,u:beta","fva":[5,-1],"iat":1800000000,` +
	`"iss":"https://clerk.example.com","jti":"2b1c8f0e3d7a9c4b6e5f","nbf":1799999990,` +
	`"o":{"fpm":"3,2","id":"org_2abcDEF123ghiJKL456mnoPQR","per":"manage,read","rol":"admin","slg":"acme"},` +
	`"pla":"u:free","sid":"sess_2abcDEF123ghiJKL456mnoPQR","sts":"active",` +
	`"sub":"user_2abcDEF123ghiJKL456mnoPQR","v":2}`

func BenchmarkParseClaims(b *testing.B) {
	payloads := []struct{ name, json string }{
		{"v2-org-fpm", typicalV2Payload},
		{"v1-org", `{"azp":"https://app.example.com","exp":1800000060,"iat":1800000000,` +
			`"iss":"https://clerk.example.com","nbf":1799999990,"org_id":"org_1","org_role":"org:admin",` +
			`"org_slug":"acme","org_permissions":["org:dashboard:read"],"sid":"sess_1","sub":"user_1"}`},
	}
	for _, p := range payloads {
		payload := []byte(p.json)
		b.Run(p.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(payload)))
			for b.Loop() {
				if _, err := parseClaims(payload); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
