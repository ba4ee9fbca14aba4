package main

import (
	"net/http"
	"strconv"
)

const (
	maxTitleLen = 100
	maxBodyLen  = 10_000
)

type postResponse struct {
	ID        int64      `json:"id"`
	Title     string     `json:"title"`
	Body      string     `json:"body"`
	Timestamp string     `json:"timestamp"`
	Author    postAuthor `json:"author"`
	Links     postLinks  `json:"_links"`
}

type postAuthor struct {
	ID          int64   `json:"id"`
	Username    string  `json:"username"`
	AboutAuthor *string `json:"about_author"`
	PostCount   int     `json:"post_count"`
}

type postLinks struct {
	Self        string `json:"self"`
	Author      string `json:"author"`
	AuthorPosts string `json:"author_posts"`
}

func postPath(id int64) string { return "/api/posts/" + strconv.FormatInt(id, 10) }

func postView(p post) postResponse {
	return postResponse{
		ID:        p.ID,
		Title:     p.Title,
		Body:      p.Body,
		Timestamp: formatTime(p.Timestamp),
		Author: postAuthor{
			ID:          p.Author.ID,
			Username:    p.Author.Username,
			AboutAuthor: optional(p.Author.AboutMe),
			PostCount:   p.Author.PostCount,
		},
		Links: postLinks{
			Self:        postPath(p.ID),
			Author:      userPath(p.Author.ID),
			AuthorPosts: userPath(p.Author.ID) + "/my-posts",
		},
	}
}

func postViews(posts []post) []postResponse {
	views := make([]postResponse, len(posts))
	for i, p := range posts {
		views[i] = postView(p)
	}
	return views
}

// postRequest is the body of a post's create or update. Nil is "not sent".
type postRequest struct {
	Title *string `json:"title"`
	Body  *string `json:"body"`
}

// problem checks the fields that were sent; creating a post needs both.
func (req postRequest) problem(creating bool) string {
	var problems []string
	if creating && req.Title == nil {
		problems = append(problems, "field title is required")
	}
	if req.Title != nil {
		problems = append(problems, checkText("title", *req.Title, 1, maxTitleLen, false))
	}
	if creating && req.Body == nil {
		problems = append(problems, "field body is required")
	}
	if req.Body != nil {
		problems = append(problems, checkText("body", *req.Body, 1, maxBodyLen, true))
	}
	return firstProblem(problems...)
}

// readPostRequest reads and checks the body of a post's create or update.
// When it is not right, it answers the client itself and returns false.
func readPostRequest(w http.ResponseWriter, r *http.Request, creating bool) (postRequest, bool) {
	var req postRequest
	if !readPostJSON(w, r, &req) {
		return req, false
	}
	if msg := req.problem(creating); msg != "" {
		badRequest(w, msg)
		return req, false
	}
	return req, true
}

func (s *server) handleListPosts(w http.ResponseWriter, r *http.Request) {
	p, ok := readPage(w, r)
	if !ok {
		return
	}
	posts, total, err := s.store.listPosts(r.Context(), 0, p.query())
	if err != nil {
		s.handleError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, newCollection(postViews(posts), p, total, "/api/posts"))
}

// handleListUserPosts lists one user's posts, newest first.
func (s *server) handleListUserPosts(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(w, r)
	if !ok {
		return
	}
	if _, err := s.store.userByID(r.Context(), id); err != nil {
		s.handleError(w, r, err)
		return
	}
	p, ok := readPage(w, r)
	if !ok {
		return
	}
	posts, total, err := s.store.listPosts(r.Context(), id, p.query())
	if err != nil {
		s.handleError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, newCollection(postViews(posts), p, total, userPath(id)+"/my-posts"))
}

func (s *server) handleGetPost(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(w, r)
	if !ok {
		return
	}
	s.writePost(w, r, http.StatusOK, id)
}

// handleCreatePost creates a post by the caller.
func (s *server) handleCreatePost(w http.ResponseWriter, r *http.Request) {
	s.createPost(w, r, callerFrom(r.Context()).userID)
}

// handleCreatePostForUser is the tutorial's form of handleCreatePost, with
// the author in the path; it must be the caller.
func (s *server) handleCreatePostForUser(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(w, r)
	if !ok {
		return
	}
	if id != callerFrom(r.Context()).userID {
		forbidden(w, "you may post only as yourself")
		return
	}
	s.createPost(w, r, id)
}

func (s *server) createPost(w http.ResponseWriter, r *http.Request, authorID int64) {
	req, ok := readPostRequest(w, r, true)
	if !ok {
		return
	}
	id, err := s.store.createPost(r.Context(), authorID, *req.Title, *req.Body, s.now())
	if err != nil {
		s.handleError(w, r, err)
		return
	}
	s.writePost(w, r, http.StatusCreated, id)
}

// handleUpdatePost changes the title or body of the caller's own post.
func (s *server) handleUpdatePost(w http.ResponseWriter, r *http.Request) {
	id, ok := s.ownPost(w, r)
	if !ok {
		return
	}
	req, ok := readPostRequest(w, r, false)
	if !ok {
		return
	}
	author := callerFrom(r.Context()).userID
	if err := s.store.updatePost(r.Context(), id, author, req.Title, req.Body); err != nil {
		s.handleError(w, r, err)
		return
	}
	s.writePost(w, r, http.StatusOK, id)
}

// handleDeletePost deletes the caller's own post.
func (s *server) handleDeletePost(w http.ResponseWriter, r *http.Request) {
	id, ok := s.ownPost(w, r)
	if !ok {
		return
	}
	author := callerFrom(r.Context()).userID
	if err := s.store.deletePost(r.Context(), id, author); err != nil {
		s.handleError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// ownPost reads the {id} of a post that the caller wrote. It answers 404
// for no such post and 403 for someone else's, and then returns false. The
// store's write checks the author again, so a post deleted in between is
// not touched (404).
func (s *server) ownPost(w http.ResponseWriter, r *http.Request) (int64, bool) {
	id, ok := pathID(w, r)
	if !ok {
		return 0, false
	}
	p, err := s.store.postByID(r.Context(), id)
	if err != nil {
		s.handleError(w, r, err)
		return 0, false
	}
	if p.Author.ID != callerFrom(r.Context()).userID {
		forbidden(w, "you may change only your own posts")
		return 0, false
	}
	return id, true
}

// writePost answers with the post as it is now in the store.
func (s *server) writePost(w http.ResponseWriter, r *http.Request, status int, id int64) {
	p, err := s.store.postByID(r.Context(), id)
	if err != nil {
		s.handleError(w, r, err)
		return
	}
	if status == http.StatusCreated {
		w.Header().Set("Location", postPath(id))
	}
	writeJSON(w, status, postView(p))
}
