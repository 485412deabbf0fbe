package main

import (
	"os"
	"testing"

	"github.com/gin-gonic/gin"

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
