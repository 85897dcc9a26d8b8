package redisstore

import goredis "github.com/redis/go-redis/v9"

// Client is the store's client, for tests that watch its traffic.
func (s *SessionStore) Client() goredis.UniversalClient { return s.rdb }
