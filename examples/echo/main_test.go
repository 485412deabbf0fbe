package main

import (
	"testing"

	"github.com/clerkauth/clerkauth/examples/internal/apptest"
)

func TestApp(t *testing.T) {
	apptest.Run(t, newApp, apptest.Features{})
}

func TestListenFallsBack(t *testing.T) {
	apptest.RunListen(t, listen)
}

func TestDemoMode(t *testing.T) {
	apptest.RunDemo(t, newApp, apptest.Features{})
}
