package main

import (
	"errors"

	"github.com/spf13/cobra"
)

func newDemoCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "demo",
		Short: "Run a few batches and show their progress, callbacks, error groups and memory",
		RunE: func(cmd *cobra.Command, _ []string) error {
			return errors.New("demo: not yet implemented")
		},
	}
}
