package model

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"

	"github.com/iterflow/iterflow/checkpoint"
	"github.com/iterflow/iterflow/data"
	"github.com/iterflow/iterflow/nn"
)

// File names inside a model directory.
const (
	WeightsFile  = "model.safetensors"
	MetadataFile = "model.json"
)

// metadata is the JSON form of everything but the weights.
type metadata struct {
	FormatVersion int         `json:"format_version"`
	Method        string      `json:"method"`
	Dim           int         `json:"dim"`
	Hidden        []int       `json:"hidden"`
	Activation    string      `json:"activation"`
	Beta          float64     `json:"beta"`
	TimeInput     bool        `json:"time_input"`
	Blocks        []BlockInfo `json:"blocks"`
	Mean          []float64   `json:"mean"`
	Std           []float64   `json:"std"`
	Dequantized   []bool      `json:"dequantized,omitempty"`
	Columns       []string    `json:"columns,omitempty"`
	Source        string      `json:"source,omitempty"`
	Logit         *data.Logit `json:"logit,omitempty"`
	WeightsSHA256 string      `json:"weights_sha256"`
}

func tensorName(block, layer int, part string) string {
	return fmt.Sprintf("block.%d.layer.%d.%s", block, layer, part)
}

// Save writes the model into dir (created if needed) as model.safetensors
// (float32 weights "block.K.layer.L.weight" of shape in×out and
// "block.K.layer.L.bias") and model.json (architecture, blocks,
// preprocessing, the weights' SHA-256). Both files are written atomically,
// weights first.
func (m *Model) Save(dir string) error {
	if err := m.Validate(); err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("model: save: %w", err)
	}
	var tensors []checkpoint.Tensor
	for k, f := range m.Fields {
		p := f.Params()
		switch f := f.(type) {
		case *nn.MLP[float32]:
			off := 0
			for l, sh := range f.LayerShapes() {
				in, out := sh[0], sh[1]
				tensors = append(tensors,
					checkpoint.Tensor{Name: tensorName(k, l, "weight"), Shape: []int{in, out}, F32: p[off : off+in*out]},
					checkpoint.Tensor{Name: tensorName(k, l, "bias"), Shape: []int{out}, F32: p[off+in*out : off+in*out+out]})
				off += in*out + out
			}
		case *nn.Linear[float32]:
			d := f.Dim()
			tensors = append(tensors,
				checkpoint.Tensor{Name: fmt.Sprintf("block.%d.A", k), Shape: []int{d, d}, F32: p[:d*d]},
				checkpoint.Tensor{Name: fmt.Sprintf("block.%d.b", k), Shape: []int{d}, F32: p[d*d:]})
		}
	}
	wpath := filepath.Join(dir, WeightsFile)
	if err := checkpoint.SaveTensors(wpath, tensors, map[string]string{"format": "iterflow", "format_version": fmt.Sprint(FormatVersion)}); err != nil {
		return fmt.Errorf("model: save: %w", err)
	}
	sum, err := checkpoint.FileSHA256(wpath)
	if err != nil {
		return fmt.Errorf("model: save: %w", err)
	}
	md := metadata{
		FormatVersion: FormatVersion, Method: m.Method,
		Dim: m.Spec.Dim, Hidden: m.Spec.Hidden, Activation: m.Spec.Act.String(), Beta: m.Spec.Beta, TimeInput: m.Spec.TimeInput,
		Blocks: blocksWithKinds(m), Mean: m.Standardizer.Mean, Std: m.Standardizer.Std,
		Dequantized: m.Dequantized, Columns: m.Columns, Source: m.Source, Logit: m.Logit, WeightsSHA256: sum,
	}
	if err := checkpoint.WriteJSON(filepath.Join(dir, MetadataFile), md); err != nil {
		return fmt.Errorf("model: save: %w", err)
	}
	return nil
}

// Load reads a model saved by Save from dir. It checks the format version, the
// weights' checksum and every tensor's shape against the architecture, and
// returns an error naming the file and the problem.
func Load(dir string) (*Model, error) {
	mpath := filepath.Join(dir, MetadataFile)
	var md metadata
	if err := checkpoint.ReadJSON(mpath, &md); err != nil {
		return nil, fmt.Errorf("model: load %s: %w", mpath, err)
	}
	if md.FormatVersion != FormatVersion {
		return nil, fmt.Errorf("model: load %s: format version %d is not supported (this iterflow reads version %d)", mpath, md.FormatVersion, FormatVersion)
	}
	act, err := nn.ParseActivation(md.Activation)
	if err != nil {
		return nil, fmt.Errorf("model: load %s: %w", mpath, err)
	}
	spec := nn.Spec{Dim: md.Dim, Hidden: md.Hidden, Act: act, Beta: md.Beta, TimeInput: md.TimeInput}
	if err := spec.Validate(); err != nil {
		return nil, fmt.Errorf("model: load %s: %w", mpath, err)
	}
	wpath := filepath.Join(dir, WeightsFile)
	sum, err := checkpoint.FileSHA256(wpath)
	if err != nil {
		return nil, fmt.Errorf("model: load: %w", err)
	}
	if sum != md.WeightsSHA256 {
		return nil, fmt.Errorf("model: load %s: checksum mismatch (file is corrupted or was changed after saving)", wpath)
	}
	tensors, _, err := checkpoint.LoadTensors(wpath)
	if err != nil {
		return nil, fmt.Errorf("model: load: %w", err)
	}
	byName := make(map[string]checkpoint.Tensor, len(tensors))
	for _, t := range tensors {
		byName[t.Name] = t
	}
	m := &Model{Method: md.Method, Spec: spec, Blocks: md.Blocks, Dequantized: md.Dequantized, Columns: md.Columns, Source: md.Source,
		Standardizer: &data.Standardizer{Mean: md.Mean, Std: md.Std}, Logit: md.Logit}
	for k, bi := range md.Blocks {
		var f Field
		var parts []tensorPart
		switch bi.Field {
		case "", "mlp":
			net, err := nn.NewMLP[float32](spec, rand.New(rand.NewPCG(0, 0)))
			if err != nil {
				return nil, fmt.Errorf("model: load: %w", err)
			}
			for l, sh := range net.LayerShapes() {
				parts = append(parts, tensorPart{tensorName(k, l, "weight"), []int{sh[0], sh[1]}},
					tensorPart{tensorName(k, l, "bias"), []int{sh[1]}})
			}
			f = net
		case "linear":
			d := md.Dim
			parts = []tensorPart{{fmt.Sprintf("block.%d.A", k), []int{d, d}}, {fmt.Sprintf("block.%d.b", k), []int{d}}}
			f = nn.NewLinear[float32](d)
		default:
			return nil, fmt.Errorf("model: load %s: block %d has unknown field type %q", mpath, k, bi.Field)
		}
		p := f.Params()
		off := 0
		for _, part := range parts {
			t, ok := byName[part.name]
			if !ok {
				return nil, fmt.Errorf("model: load %s: tensor %q is missing", wpath, part.name)
			}
			if t.F32 == nil || !equalInts(t.Shape, part.dims) {
				return nil, fmt.Errorf("model: load %s: tensor %q has shape %v, want float32 %v", wpath, part.name, t.Shape, part.dims)
			}
			size := len(t.F32)
			copy(p[off:off+size], t.F32)
			off += size
		}
		m.Fields = append(m.Fields, f)
	}
	if err := m.Validate(); err != nil {
		return nil, fmt.Errorf("model: load %s: %w", dir, err)
	}
	return m, nil
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// tensorPart names one saved tensor of a block and its shape.
type tensorPart struct {
	name string
	dims []int
}

// blocksWithKinds fills each block's Field from its field's type.
func blocksWithKinds(m *Model) []BlockInfo {
	out := append([]BlockInfo(nil), m.Blocks...)
	for i := range out {
		out[i].Field = FieldKind(m.Fields[i])
	}
	return out
}
