package ipcmd

import (
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/rampart-ids/rampart/internal/analytics/cadence"
	"github.com/rampart-ids/rampart/internal/cli/cadencecmd"
)

// Cadence is the "cadence" object of ip's JSON output: how the source
// returned after the blocks its alerts triggered (see "rampart cadence").
type Cadence struct {
	// BlocksFrom says where block lengths came from: ossec.conf, --block
	// or the 600 s default.
	BlocksFrom       string `json:"blocks_from"`
	ToleranceSeconds int64  `json:"tolerance_seconds"`
	// Exempt: ossec.conf's white_list covers the source; OSSEC never
	// blocks it.
	Exempt   bool `json:"exempt"`
	Episodes int  `json:"episodes"`
	Blocks   int  `json:"blocks"`
	Returns  int  `json:"returns"`
	// EnoughData: at least --min-returns returns; otherwise the source is
	// never flagged and has no recommendation.
	EnoughData          bool    `json:"enough_data"`
	MedianReturnSeconds float64 `json:"median_return_seconds"`
	ReturnsAfterBlock   float64 `json:"returns_after_block"`
	// BlockSeconds is the block most returns waited out; null when
	// permanent.
	BlockSeconds          *int64 `json:"block_seconds"`
	Flagged               bool   `json:"flagged"`
	RecommendedBanSeconds int64  `json:"recommended_ban_seconds"`
	RecommendedBanCapped  bool   `json:"recommended_ban_capped"`
	// ReturnGaps is the histogram of return gaps.
	ReturnGaps []GapBucket `json:"return_gaps"`
	// EpisodeList holds the latest episodes, at most maxJSONEpisodes,
	// oldest first; Episodes counts them all.
	EpisodeList []Episode `json:"episode_list"`
}

// maxJSONEpisodes bounds episode_list: the busiest source of 3,000,000
// generated alerts has 7,000 episodes.
const maxJSONEpisodes = 1000

// GapBucket is one bar of the return-gap histogram: gaps from MinSeconds
// to MaxSeconds inclusive (MaxSeconds null: no upper bound).
type GapBucket struct {
	MinSeconds int64  `json:"min_seconds"`
	MaxSeconds *int64 `json:"max_seconds"`
	Count      int    `json:"count"`
	// AfterBlock marks the bar of returns just after the block expired.
	AfterBlock bool `json:"after_block"`
}

// Episode is one run of the source's activity.
type Episode struct {
	First  time.Time `json:"first"`
	Last   time.Time `json:"last"`
	Alerts int       `json:"alerts"`
	Blocks int       `json:"blocks"`
}

func convertCadence(r cadence.Result, setup *cadencecmd.Setup) *Cadence {
	row := cadencecmd.NewRow(r)
	c := &Cadence{
		BlocksFrom: setup.Block, ToleranceSeconds: int64(setup.Tolerance / time.Second), Exempt: r.Exempt,
		Episodes: r.Episodes, Blocks: r.Blocks, Returns: r.Returns, EnoughData: r.EnoughData,
		MedianReturnSeconds: row.MedianReturnSeconds, ReturnsAfterBlock: row.ReturnsAfterBlock, BlockSeconds: row.BlockSeconds,
		Flagged: r.Flagged, RecommendedBanSeconds: row.RecommendedBanSeconds, RecommendedBanCapped: r.Capped,
		ReturnGaps: []GapBucket{}, EpisodeList: []Episode{},
	}
	if r.Returns > 0 {
		for _, b := range r.Histogram {
			g := GapBucket{MinSeconds: int64(b.Lo / time.Second), Count: b.Count, AfterBlock: b.AfterBlock}
			if b.Hi > 0 {
				hi := int64(b.Hi/time.Second) - 1
				g.MaxSeconds = &hi
			}
			c.ReturnGaps = append(c.ReturnGaps, g)
		}
	}
	for _, e := range r.EpisodeList[max(0, len(r.EpisodeList)-maxJSONEpisodes):] {
		c.EpisodeList = append(c.EpisodeList, Episode(e))
	}
	return c
}

// maxEpisodes is how many episodes the text output lists, newest last.
const maxEpisodes = 10

// barWidth is the longest histogram bar, in characters.
const barWidth = 40

func writeCadence(w io.Writer, c *Cadence, minReturns int) {
	fmt.Fprintf(w, "\nCadence (blocks: %s; tolerance %d s)\n", c.BlocksFrom, c.ToleranceSeconds)
	if c.Exempt {
		fmt.Fprintln(w, "  in ossec.conf's white_list: OSSEC never blocks it")
	}
	fmt.Fprintf(w, "  %d episodes, %d blocks, %d returns after a block", c.Episodes, c.Blocks, c.Returns)
	if c.Returns > 0 {
		fmt.Fprintf(w, ", median return %s", seconds(c.MedianReturnSeconds))
	}
	fmt.Fprintln(w)
	switch {
	case c.Exempt:
	case c.Returns == 0 && c.Blocks == 0:
		fmt.Fprintln(w, "  no alert triggered a block")
	case !c.EnoughData:
		fmt.Fprintf(w, "  not enough data: %d returns, %d needed (--min-returns)\n", c.Returns, minReturns)
	default:
		verdict := "not flagged"
		if c.Flagged {
			verdict = "FLAGGED: it waits out the block"
		}
		ban := strconv.FormatInt(c.RecommendedBanSeconds, 10) + " s"
		if c.RecommendedBanCapped {
			ban += " (capped: no allowed step covers 95 % of its returns)"
		}
		fmt.Fprintf(w, "  %s of returns within %d s after a %s block: %s; recommended ban %s\n",
			cadencecmd.Percent(int(math.Round(c.ReturnsAfterBlock*float64(c.Returns))), c.Returns), c.ToleranceSeconds, blockText(c.BlockSeconds), verdict, ban)
	}
	if c.Returns > 0 {
		fmt.Fprintln(w, "  Return gaps (from a block's start to the next alert)")
		most, width := 0, 0
		labels := make([]string, len(c.ReturnGaps))
		for i, b := range c.ReturnGaps {
			most = max(most, b.Count)
			labels[i] = gapLabel(b)
			width = max(width, len([]rune(labels[i])))
		}
		for i, b := range c.ReturnGaps {
			note := ""
			if b.AfterBlock {
				note = "  ← just after the block"
			}
			pad := strings.Repeat(" ", width-len([]rune(labels[i])))
			line := fmt.Sprintf("    %s%s %6d  %s%s", labels[i], pad, b.Count, strings.Repeat("█", barLen(b.Count, most)), note)
			fmt.Fprintln(w, strings.TrimRight(line, " "))
		}
	}
	if n := len(c.EpisodeList); n > 0 {
		shown := c.EpisodeList[max(0, n-maxEpisodes):]
		if len(shown) < c.Episodes {
			fmt.Fprintf(w, "  Episodes (latest %d of %d)\n", len(shown), c.Episodes)
		} else {
			fmt.Fprintln(w, "  Episodes")
		}
		for _, e := range shown {
			fmt.Fprintf(w, "    %s  %6s  %s, %s\n", e.First.Format(time.RFC3339),
				strconv.FormatInt(int64(e.Last.Sub(e.First)/time.Second), 10)+" s", plural(e.Alerts, "alert"), plural(e.Blocks, "block"))
		}
	}
}

func barLen(n, most int) int {
	if n == 0 || most == 0 {
		return 0
	}
	return max(1, n*barWidth/most)
}

// gapLabel names a histogram bar: the after-block bar in exact seconds,
// the others in round units.
func gapLabel(b GapBucket) string {
	switch {
	case b.AfterBlock && b.MaxSeconds != nil:
		return strconv.FormatInt(b.MinSeconds, 10) + "–" + strconv.FormatInt(*b.MaxSeconds, 10) + " s"
	case b.MaxSeconds == nil:
		return "≥ " + humane(b.MinSeconds)
	case b.MinSeconds == 0:
		return "< " + humane(*b.MaxSeconds+1)
	}
	return humane(b.MinSeconds) + " – " + humane(*b.MaxSeconds+1)
}

// humane writes seconds in the largest unit that divides them.
func humane(s int64) string {
	switch {
	case s >= 2*86400 && s%86400 == 0:
		return strconv.FormatInt(s/86400, 10) + " d"
	case s >= 3600 && s%3600 == 0:
		return strconv.FormatInt(s/3600, 10) + " h"
	case s >= 120 && s%60 == 0:
		return strconv.FormatInt(s/60, 10) + " min"
	}
	return strconv.FormatInt(s, 10) + " s"
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return strconv.Itoa(n) + " " + what + "s"
}

func blockText(s *int64) string {
	if s == nil {
		return "permanent"
	}
	return strconv.FormatInt(*s, 10) + " s"
}

func seconds(s float64) string {
	return strconv.FormatFloat(s, 'f', -1, 64) + " s"
}
