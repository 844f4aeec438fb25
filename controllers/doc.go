// Package controllers holds one reconciler per kind of backup.graphkeeper.dev: read, decide
// (through the pure packages under internal/), write, report.
package controllers
