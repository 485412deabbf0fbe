package clerktest

import (
	"encoding/json"
	"fmt"
	"net/http"
)

// apiError is one element of Clerk's ClerkErrors body.
type apiError struct {
	Message     string         `json:"message"`
	LongMessage string         `json:"long_message"`
	Code        string         `json:"code"`
	Meta        map[string]any `json:"meta"`
}

type errorBody struct {
	Errors       []apiError     `json:"errors"`
	Meta         map[string]any `json:"meta"`
	ClerkTraceID string         `json:"clerk_trace_id"`
}

// httpError is an apiError with its status, returned by request parsers.
type httpError struct {
	status int
	apiError
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, "clerktest: encoding response: "+err.Error(), http.StatusInternalServerError)
		return
	}
	// Clerk's JS SDK parses a body as JSON only for exactly this type.
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(b)
}

func writeError(w http.ResponseWriter, status int, e apiError) {
	if e.Meta == nil {
		e.Meta = map[string]any{}
	}
	writeJSON(w, status, errorBody{Errors: []apiError{e}, Meta: map[string]any{}, ClerkTraceID: randomString(32)})
}

func writeHTTPError(w http.ResponseWriter, e *httpError) { writeError(w, e.status, e.apiError) }

func errFormatInvalid() *httpError {
	return &httpError{http.StatusUnauthorized, apiError{
		Message:     "Invalid Authorization header format",
		LongMessage: "Invalid Authorization header format. Must be 'Bearer <YOUR_API_KEY>'",
		Code:        "authorization_header_format_invalid",
	}}
}

func errKeyInvalid() *httpError {
	return &httpError{http.StatusUnauthorized, apiError{
		Message:     "The provided Clerk Secret Key is invalid. Make sure that your Clerk Secret Key is correct.",
		LongMessage: "The provided Clerk Secret Key is invalid. Make sure that your Clerk Secret Key is correct.",
		Code:        "clerk_key_invalid",
	}}
}

func errNotFound(long string) *httpError {
	return &httpError{http.StatusNotFound, apiError{Message: "not found", LongMessage: long, Code: "resource_not_found"}}
}

func errParamInvalid(param, long string) *httpError {
	return &httpError{http.StatusUnprocessableEntity, apiError{
		Message: "is invalid", LongMessage: long, Code: "form_param_value_invalid",
		Meta: map[string]any{"param_name": param},
	}}
}

func errParamMissing(param string) *httpError {
	return &httpError{http.StatusUnprocessableEntity, apiError{
		Message: "is missing", LongMessage: param + " must be included.", Code: "form_param_missing",
		Meta: map[string]any{"param_name": param},
	}}
}

func errBadRequest(code, msg string) *httpError {
	return &httpError{http.StatusBadRequest, apiError{Message: msg, LongMessage: msg, Code: code}}
}

func errDeprecated(version string) *httpError {
	return &httpError{http.StatusGone, apiError{
		Message: "endpoint is deprecated and pending removal",
		LongMessage: fmt.Sprintf("This endpoint is deprecated and pending removal; it is not available in API version %s. "+
			"Verify session tokens networklessly instead.", version),
		Code: "operation_deprecated",
	}}
}
