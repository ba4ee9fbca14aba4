package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"sync"
)

// writeJSON is the one writer of JSON responses. It encodes before it writes
// the header, so an encoding failure can still become a clean 500. HTML
// escaping is off: these are API responses, and links keep a plain '&'.
func writeJSON(w http.ResponseWriter, status int, v any) {
	body := jsonBuffers.Get().(*bytes.Buffer)
	defer putJSONBuffer(body)
	enc := json.NewEncoder(body)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		status = http.StatusInternalServerError
		body.Reset()
		body.WriteString(`{"error":"Internal Server Error"}` + "\n")
	}
	h := w.Header()
	h["Content-Type"] = jsonContentType
	w.WriteHeader(status)
	w.Write(body.Bytes())
}

// writeStatic answers with body, which is the same for everyone and
// changes only with a new binary, so caches may keep it for a while: all
// but the answer to a request with credentials, which safetyHeaders has
// marked no-store already, as every such answer is.
func writeStatic(w http.ResponseWriter, r *http.Request, contentType string, body []byte) {
	h := w.Header()
	h.Set("Content-Type", contentType)
	if _, marked := h["Cache-Control"]; !marked {
		h.Set("Cache-Control", "public, max-age=3600")
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		w.Write(body)
	}
}

// The Content-Type of every JSON response, shared rather than allocated
// per response: net/http only reads it. (safetyHeaders sets nosniff on
// every answer, these among them.)
var jsonContentType = []string{"application/json"}

// jsonBuffers keeps the encoding buffers of writeJSON for reuse: the
// response is copied out by Write, so a buffer is free again right after.
var jsonBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// putJSONBuffer returns a buffer to the pool, unless one large answer grew
// it: a pool of large buffers would pin their memory.
func putJSONBuffer(b *bytes.Buffer) {
	if b.Cap() <= 64<<10 {
		b.Reset()
		jsonBuffers.Put(b)
	}
}

// collection is the tutorial's paginated shape.
type collection[T any] struct {
	Items []T             `json:"items"`
	Meta  collectionMeta  `json:"_meta"`
	Links collectionLinks `json:"_links"`
}

type collectionMeta struct {
	Page       int `json:"page"`
	PerPage    int `json:"per_page"`
	TotalPages int `json:"total_pages"`
	TotalItems int `json:"total_items"`
}

type collectionLinks struct {
	Self string  `json:"self"`
	Next *string `json:"next"`
	Prev *string `json:"prev"`
}

// item is what a collection needs of its items: the id a cursor names.
type item interface{ itemID() int64 }

func (r userResponse) itemID() int64 { return r.ID }
func (r postResponse) itemID() int64 { return r.ID }

// newCollection wraps one page of items found at path, of total in all.
// items may hold one more than the page (page.query asks for it): that one
// is not shown, it only tells that a next page exists, and next carries
// the id of the page's last item as its cursor (docs/api.md, "Pages").
// prev counts pages, as the tutorial's links do.
func newCollection[T item](items []T, p page, total int, path string) collection[T] {
	totalPages := (total + p.PerPage - 1) / p.PerPage
	link := func(number int, after int64) *string {
		s := fmt.Sprintf("%s?page=%d&per_page=%d", path, number, p.PerPage)
		if after != 0 {
			s += fmt.Sprintf("&after=%d", after)
		}
		return &s
	}
	c := collection[T]{
		Items: items,
		Meta:  collectionMeta{Page: p.Number, PerPage: p.PerPage, TotalPages: totalPages, TotalItems: total},
		Links: collectionLinks{Self: *link(p.Number, p.After)},
	}
	if len(items) > p.PerPage {
		c.Items = items[:p.PerPage]
		c.Links.Next = link(p.Number+1, c.Items[p.PerPage-1].itemID())
	}
	// Past the end, prev leads back to the last page there is, not to
	// another empty one.
	if p.Number > 1 {
		c.Links.Prev = link(min(p.Number-1, max(totalPages, 1)), 0)
	}
	return c
}
