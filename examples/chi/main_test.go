package main

import (
	"testing"

	"github.com/clerkauth/clerkauth/examples/internal/apptest"
)

func TestApp(t *testing.T) {
	apptest.Run(t, newApp, apptest.Features{Logout: true})
}

func TestDemoMode(t *testing.T) {
	apptest.RunDemo(t, newApp, apptest.Features{Logout: true})
}

func TestListenFallsBack(t *testing.T) {
	apptest.RunListen(t, listen)
}
