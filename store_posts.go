package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

type post struct {
	ID        int64
	Title     string
	Body      string
	Timestamp time.Time
	Author    user // ID, Username, AboutMe and PostCount only
}

const postQuery = `SELECT p.id, p.title, p.body, p.timestamp,
	u.id, u.username, u.about_me, u.post_count
	FROM posts p JOIN users u ON u.id = p.user_id`

func scanPost(row scanner) (post, error) {
	var p post
	var timestamp string
	var about sql.NullString
	err := row.Scan(&p.ID, &p.Title, &p.Body, &timestamp,
		&p.Author.ID, &p.Author.Username, &about, &p.Author.PostCount)
	if err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return post{}, errNotFound
		}
		return post{}, err
	}
	p.Author.AboutMe = about.String
	t, err := parseTime(timestamp)
	if err != nil {
		return post{}, fmt.Errorf("post %d: timestamp: %w", p.ID, err)
	}
	p.Timestamp = t
	return p, nil
}

// createPost inserts a post and returns its id.
func (s *sqlStore) createPost(ctx context.Context, authorID int64, title, body string, at time.Time) (int64, error) {
	res, err := s.execResult(ctx,
		`INSERT INTO posts (title, body, timestamp, user_id) VALUES (?, ?, ?, ?)`,
		title, body, formatTime(at), authorID)
	if err != nil {
		return 0, err
	}
	return res.LastInsertId()
}

// postByID returns errNotFound if there is no such post.
func (s *sqlStore) postByID(ctx context.Context, id int64) (post, error) {
	return scanPost(s.read.QueryRowContext(ctx, postQuery+` WHERE p.id = ?`, id))
}

// listPosts returns one page of posts, newest first, and the number of posts.
// An authorID of 0 lists everyone's posts. Ids grow with every insert, so id
// order is creation order and needs no index of its own. The number is
// kept by triggers, not counted: everyone's in the counts table, an
// author's in users.post_count (schema.sql, versions 7 and 2); an author
// who does not exist has none.
func (s *sqlStore) listPosts(ctx context.Context, authorID int64, q pageQuery) ([]post, int, error) {
	count, args := `SELECT n FROM counts WHERE name = 'posts'`, []any{}
	if authorID != 0 {
		count, args = `SELECT COALESCE((SELECT post_count FROM users WHERE id = ?), 0)`, []any{authorID}
	}
	return countedPage(ctx, s.read, count, args, q, func(q pageQuery) (string, []any) {
		return postPageSQL(authorID, q)
	}, scanPost)
}

// postPageSQL is the query of one page of posts, newest first: the page's
// ids first (pageOfIDs: an author's from posts_by_user), then only their
// rows, bodies and authors.
func postPageSQL(authorID int64, q pageQuery) (string, []any) {
	var where []string
	var args []any
	if authorID != 0 {
		where, args = []string{"user_id = ?"}, []any{authorID}
	}
	ids, args := pageOfIDs("posts", true, q, where, args)
	return postQuery + ` WHERE p.id IN (` + ids + `) ORDER BY p.id DESC`, args
}

// updatePost changes the title and body of a post by authorID; nil leaves a
// field as it is. It returns errNotFound when no post has that id and author.
func (s *sqlStore) updatePost(ctx context.Context, id, authorID int64, title, body *string) error {
	return rowsAffectedOrNotFound(s.execResult(ctx,
		`UPDATE posts SET title = COALESCE(?, title), body = COALESCE(?, body)
		WHERE id = ? AND user_id = ?`, title, body, id, authorID))
}

// deletePost deletes a post by authorID, or returns errNotFound.
func (s *sqlStore) deletePost(ctx context.Context, id, authorID int64) error {
	return rowsAffectedOrNotFound(s.execResult(ctx,
		`DELETE FROM posts WHERE id = ? AND user_id = ?`, id, authorID))
}
