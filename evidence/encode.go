package evidence

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
)

// Document is a pack's canonical JSON form and the SHA-256 of exactly those bytes, in hex as sha256sum
// prints it.
type Document struct {
	JSON   []byte
	SHA256 string
}

// Encode writes p in its canonical JSON form: indented by two spaces, struct fields in their declared
// order, map keys sorted, HTML characters not escaped, one newline at the end. The same pack always
// gives the same bytes, so `sha256sum report.json` gives Document.SHA256.
func Encode(p *Pack) (Document, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(p); err != nil {
		return Document{}, fmt.Errorf("encode evidence of delivery %d: %w", p.Delivery.ID, err)
	}
	return Document{JSON: buf.Bytes(), SHA256: Sum(buf.Bytes())}, nil
}

// Sum is the SHA-256 of b in lower-case hex.
func Sum(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}
