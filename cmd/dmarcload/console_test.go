package main

import (
	"regexp"
	"strings"
	"testing"
)

// -console-cost runs the gateway without and with the console in every
// round, a poller logged in and loading Overview through each run with
// the console, and gives what the console costs.
func TestConsoleCostRounds(t *testing.T) {
	out := runGateway(t, "-n 60 -c 5 -size 1024 -domains 2 -console-cost -rounds 2",
		"median of 2 rounds: gateway ", "median of 2 rounds: gateway+console ",
		"the console, polled every second, costs", "sink received 60 of 60 accepted")
	if n := strings.Count(out, "\ngateway+console "); n != 2 {
		t.Errorf("%d gateway+console rows, want 2", n)
	}
	polled := regexp.MustCompile(`console poller: [1-9]\d* Overview pages loaded, 0 errors\n`).FindAllString(out, -1)
	if len(polled) != 2 {
		t.Errorf("%d runs whose poller loaded Overview without an error, want 2", len(polled))
	}
}
