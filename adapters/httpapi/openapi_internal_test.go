package httpapi

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
)

// Every code and HTTP status the server answers has its example in the
// document's error response of that status.
func TestOpenAPI_DocumentsEveryOutcome(t *testing.T) {
	doc, err := openapi3.NewLoader().LoadFromData(OpenAPI)
	if err != nil {
		t.Fatal(err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatal(err)
	}
	all := []outcome{}
	for _, o := range outcomes {
		all = append(all, o)
	}
	for _, e := range []*transportError{errTooLarge, errUnsupportedMedia, errNoRoute, errNoMethod, errClientGone, errBodyTimeout, errGatewayDown, errGatewayTimeout} {
		all = append(all, e.outcome)
	}
	for _, o := range all {
		name := fmt.Sprintf("E%d", o.status)
		r := doc.Components.Responses[name]
		if r == nil || r.Value == nil {
			t.Errorf("code %d (HTTP %d): no response %s", o.code, o.status, name)
			continue
		}
		ex := r.Value.Content.Get("application/json").Examples[fmt.Sprintf("code%d", o.code)]
		if ex == nil || ex.Value == nil {
			t.Errorf("code %d (HTTP %d): no example in %s", o.code, o.status, name)
			continue
		}
		b, _ := json.Marshal(ex.Value.Value)
		var env envelope
		if err := json.Unmarshal(b, &env); err != nil || env.Code != o.code || env.Status != o.code {
			t.Errorf("code %d (HTTP %d): example %s", o.code, o.status, b)
		}
	}
}
