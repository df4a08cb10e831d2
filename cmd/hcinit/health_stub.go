package main

import (
	"fmt"
	"io"

	"github.com/sirupsen/logrus"

	"github.com/wisdom-oss/go-healthcheck/supervisor"
	"github.com/wisdom-oss/go-healthcheck/supervisor/reaper"
)

const checkHelp = ""

func newHealth(cfg supervisor.Config, log *logrus.Logger, r *reaper.Reaper, s *supervisor.Supervisor) (supervisor.Health, error) {
	return nil, nil
}

func checkMain(args []string, stdout, stderr io.Writer) int {
	fmt.Fprintln(stderr, "not yet")
	return 1
}

func statusMain(args []string, stdout, stderr io.Writer) int { return checkMain(args, stdout, stderr) }
