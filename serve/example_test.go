package serve_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/iterflow/iterflow/data"
	"github.com/iterflow/iterflow/model"
	"github.com/iterflow/iterflow/nn"
	"github.com/iterflow/iterflow/serve"
)

// Embed the scoring handler under /flow/ in an existing Go service. The model
// here is a single zero velocity field behind the identity standardization, so
// its density is N(0, I): log p(0, 0) = −log 2π. A real service would call
// model.Load(dir) instead, and serve with (*serve.Server).Serve or an
// http.Server with timeouts.
func ExampleServer_Handler() {
	m := &model.Model{
		Method:       "lfm",
		Spec:         nn.Spec{Dim: 2, Hidden: []int{4}, Act: nn.Tanh, Beta: 1},
		Blocks:       []model.BlockInfo{{Kind: "free"}},
		Fields:       []model.Field{nn.NewLinear[float32](2)},
		Standardizer: &data.Standardizer{Mean: []float64{0, 0}, Std: []float64{1, 1}},
		Columns:      []string{"x", "y"},
	}
	s, err := serve.New(m, serve.Options{MaxRows: 1000, Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		fmt.Println(err)
		return
	}
	mux := http.NewServeMux()
	mux.Handle("/flow/", http.StripPrefix("/flow", s.Handler()))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "the rest of the service") })

	ts := httptest.NewServer(mux)
	defer ts.Close()
	post := func(path, ctype, body string) string {
		req, _ := http.NewRequestWithContext(context.Background(), "POST", ts.URL+path, strings.NewReader(body))
		req.Header.Set("Content-Type", ctype)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return fmt.Sprint(resp.StatusCode, " ", string(b))
	}
	var out struct {
		LogProb []float64 `json:"logprob"`
		Unit    string    `json:"unit"`
	}
	resp := post("/flow/logprob", "application/json", `{"rows": [[0, 0], [1, 0]]}`)
	if err := json.Unmarshal([]byte(strings.TrimPrefix(resp, "200 ")), &out); err != nil {
		fmt.Println(resp)
		return
	}
	fmt.Println(out.LogProb, out.Unit)
	fmt.Print(post("/flow/logprob", "text/csv", "x,y\n0,0\n1,2,3\n"))
	// Output:
	// [-1.8378770664093453 -2.3378770664093453] nats
	// 400 {"error":"row 1 has 3 values; the model expects 2 (rows and columns count from 0)","row":1}
}
