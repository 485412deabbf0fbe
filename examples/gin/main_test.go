package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/stretchr/testify/assert"

	"github.com/clerkauth/clerkauth/examples/internal/apptest"
)

func TestMain(m *testing.M) {
	gin.SetMode(gin.TestMode)
	os.Exit(m.Run())
}

func TestApp(t *testing.T) {
	apptest.Run(t, newApp, apptest.Features{Logout: true})
}

func TestListenFallsBack(t *testing.T) {
	apptest.RunListen(t, listen)
}

func TestDemoMode(t *testing.T) {
	apptest.RunDemo(t, newApp, apptest.Features{Logout: true})
}

type ctxKey struct{}

// TestGinAuth checks the adapter alone: the chain goes on once, with the
// middleware's request, when the middleware calls next; it stops, with the
// middleware's answer, when it does not.
func TestGinAuth(t *testing.T) {
	var order []string // what ran, in order, in the current subtest
	pass := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), ctxKey{}, "from middleware")))
			order = append(order, "middleware after next")
		})
	}
	deny := func(http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			http.Error(w, "denied", http.StatusForbidden)
		})
	}
	tests := []struct {
		name      string
		mw        func(http.Handler) http.Handler
		wantCode  int
		wantRuns  int
		wantValue any
		wantOrder []string
	}{
		{"middleware calls next", pass, http.StatusOK, 1, "from middleware", []string{"handler", "middleware after next"}},
		{"middleware answers", deny, http.StatusForbidden, 0, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			runs, afterRuns := 0, 0
			order = nil
			var value any
			r := gin.New()
			r.Use(ginAuth(tt.mw))
			r.Use(func(c *gin.Context) { c.Next(); afterRuns++ })
			r.GET("/", func(c *gin.Context) {
				runs++
				order = append(order, "handler")
				value = c.Request.Context().Value(ctxKey{})
				c.String(http.StatusOK, "handler")
			})
			rec := httptest.NewRecorder()
			r.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
			assert.Equal(t, tt.wantCode, rec.Code)
			assert.Equal(t, tt.wantRuns, runs, "handler runs")
			assert.Equal(t, tt.wantRuns, afterRuns, "later middleware runs")
			assert.Equal(t, tt.wantValue, value)
			assert.Equal(t, tt.wantOrder, order, "the rest of the chain runs inside the middleware")
		})
	}
}
