package main

import (
	"runtime"
	"testing"
)

func TestThreadFlags(t *testing.T) {
	prev := runtime.GOMAXPROCS(0)
	defer runtime.GOMAXPROCS(prev)
	tests := []struct {
		args    []string
		env     map[string]string
		want    threadSplit
		workers int
		err     string
	}{
		{nil, nil, threadSplit{}, 0, ""},
		{[]string{"--threads", "2"}, nil, threadSplit{2, 1, 0}, 2, ""},
		{[]string{"--threads", "4", "--blas-threads", "2"}, nil, threadSplit{4, 2, 0}, 2, ""},
		{nil, map[string]string{threadsEnv: "3"}, threadSplit{3, 1, 0}, 3, ""},
		{[]string{"--threads", "2"}, map[string]string{threadsEnv: "7"}, threadSplit{2, 1, 0}, 2, ""},
		{nil, map[string]string{threadsEnv: "two"}, threadSplit{}, 0, `$ITERFLOW_THREADS = "two": want a whole number >= 1`},
		{[]string{"--threads", "0"}, nil, threadSplit{}, 0, "--threads 0: want >= 1"},
		{[]string{"--threads", "1", "--blas-threads", "2"}, nil, threadSplit{}, 0, "--blas-threads 2 exceeds --threads 1"},
	}
	for _, tc := range tests {
		t.Setenv(threadsEnv, tc.env[threadsEnv])
		t.Setenv(blasThreadsEnv, tc.env[blasThreadsEnv])
		root := newRootCmd()
		if err := root.ParseFlags(tc.args); err != nil {
			t.Fatal(err)
		}
		s, err := resolveThreads(root)
		if tc.err != "" {
			if err == nil || err.Error() != tc.err {
				t.Errorf("%v %v: error %v, want %q", tc.args, tc.env, err, tc.err)
			}
			continue
		}
		if err != nil || s != tc.want || flowWorkers(root) != tc.workers {
			t.Errorf("%v %v: split %+v workers %d (err %v), want %+v and %d", tc.args, tc.env, s, flowWorkers(root), err, tc.want, tc.workers)
		}
		if err := setupThreads(root, nil); err != nil {
			t.Fatal(err)
		}
		if tc.want.Threads > 0 && runtime.GOMAXPROCS(0) != tc.want.Threads {
			t.Errorf("%v: GOMAXPROCS %d, want %d", tc.args, runtime.GOMAXPROCS(0), tc.want.Threads)
		}
	}
}
