// Package deploy holds what runs Tollgate outside a developer's machine, and
// the tests that prove it: the Helm chart (helm/tollgate), the systemd unit
// (systemd), the daemonless container image builder (image), and the
// multi-replica rehearsal (rehearsal).
//
// It is its own Go module so that the heavy dependencies of these tests and
// tools (the Helm SDK, Kubernetes API types, go-containerregistry) never
// reach the gateway binary's module graph.
package deploy
