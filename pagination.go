package main

import (
	"fmt"
	"net/http"
	"strconv"
)

const (
	defaultPerPage = 10
	maxPerPage     = 100
)

// page is a client's choice of one page of a collection.
type page struct {
	Number  int
	PerPage int
}

func (p page) offset() int { return (p.Number - 1) * p.PerPage }

// readPage reads the page and per_page query parameters. A per_page above
// the cap is lowered to it, as the tutorial does; a value that is not a
// positive integer is answered with a 400 and false.
func readPage(w http.ResponseWriter, r *http.Request) (page, bool) {
	p := page{Number: 1, PerPage: defaultPerPage}
	query := r.URL.Query()
	for _, param := range []struct {
		name string
		dst  *int
	}{{"page", &p.Number}, {"per_page", &p.PerPage}} {
		if !query.Has(param.name) {
			continue
		}
		// Nine digits keep (page-1)*per_page far from overflow.
		n, ok := parsePositive(query.Get(param.name), 9)
		if !ok {
			badRequest(w, param.name+" must be a positive integer")
			return page{}, false
		}
		*param.dst = int(n)
	}
	p.PerPage = min(p.PerPage, maxPerPage)
	return p, true
}

// parsePositive accepts 1 to maxDigits ASCII digits with a value of at least
// 1: no sign, no spaces, nothing that could overflow.
func parsePositive(s string, maxDigits int) (int64, bool) {
	if len(s) == 0 || len(s) > maxDigits {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil && n >= 1
}

// pathID reads the {id} path value. An id that is not a positive integer
// names no resource, so it is a 404, as in the tutorial's <int:id> routes.
func pathID(w http.ResponseWriter, r *http.Request) (int64, bool) {
	id, ok := parsePositive(r.PathValue("id"), 18)
	if !ok {
		notFound(w)
	}
	return id, ok
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

// newCollection wraps one page of items found at path, of total in all.
func newCollection[T any](items []T, p page, total int, path string) collection[T] {
	totalPages := (total + p.PerPage - 1) / p.PerPage
	link := func(number int) *string {
		s := fmt.Sprintf("%s?page=%d&per_page=%d", path, number, p.PerPage)
		return &s
	}
	c := collection[T]{
		Items: items,
		Meta:  collectionMeta{Page: p.Number, PerPage: p.PerPage, TotalPages: totalPages, TotalItems: total},
		Links: collectionLinks{Self: *link(p.Number)},
	}
	if p.Number < totalPages {
		c.Links.Next = link(p.Number + 1)
	}
	if p.Number > 1 {
		c.Links.Prev = link(p.Number - 1)
	}
	return c
}
