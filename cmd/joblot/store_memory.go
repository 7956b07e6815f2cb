package main

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/redis/rueidis"

	"github.com/joblot/joblot/backend"
)

// withMemory returns s's backend as a backend.MemoryReporter, for the
// metrics. When the backend does not implement it (backend/redis and
// backend/bolt do not, yet), the CLI reads the same numbers itself: Redis
// INFO used_memory and maxmemory, or the file's size.
func (s *store) withMemory() backend.Backend {
	if _, ok := s.Backend.(backend.MemoryReporter); ok {
		return s.Backend
	}
	switch {
	case s.redis != nil:
		c := s.redis.Client()
		return memoryBackend{Backend: s.Backend, memory: func(ctx context.Context) (backend.MemoryInfo, error) { return redisMemory(ctx, c) }}
	case s.path != "":
		path := s.path
		return memoryBackend{Backend: s.Backend, memory: func(context.Context) (backend.MemoryInfo, error) {
			fi, err := os.Stat(path)
			if err != nil {
				return backend.MemoryInfo{}, err
			}
			return backend.MemoryInfo{Used: fi.Size()}, nil
		}}
	}
	return s.Backend
}

// memoryBackend adds a MemoryReporter to a backend.
type memoryBackend struct {
	backend.Backend
	memory func(context.Context) (backend.MemoryInfo, error)
}

// Memory implements backend.MemoryReporter.
func (m memoryBackend) Memory(ctx context.Context) (backend.MemoryInfo, error) { return m.memory(ctx) }

// redisMemory reads used_memory and maxmemory from INFO memory.
func redisMemory(ctx context.Context, c rueidis.Client) (backend.MemoryInfo, error) {
	info, err := c.Do(ctx, c.B().Info().Section("memory").Build()).ToString()
	if err != nil {
		return backend.MemoryInfo{}, fmt.Errorf("INFO memory: %w", err)
	}
	var m backend.MemoryInfo
	for _, line := range strings.Split(info, "\n") {
		k, v, ok := strings.Cut(strings.TrimSpace(line), ":")
		if !ok {
			continue
		}
		switch k {
		case "used_memory":
			m.Used, err = strconv.ParseInt(v, 10, 64)
		case "maxmemory":
			m.Limit, err = strconv.ParseInt(v, 10, 64)
		}
		if err != nil {
			return m, fmt.Errorf("INFO memory: %s = %q: %w", k, v, err)
		}
	}
	return m, nil
}
