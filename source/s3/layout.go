package s3

import (
	"strconv"
	"strings"
	"time"
)

// level is how far down the flow-log key layout a prefix is:
//
//	[user prefix/]AWSLogs/[o-org/]{account}/vpcflowlogs/{region}/yyyy/mm/dd/[HH/]file
//	[user prefix/]AWSLogs/[o-org/]aws-account-id={account}/aws-service=vpcflowlogs/aws-region={region}/year=yyyy/month=mm/day=dd/[hour=HH/]file
type level uint8

const (
	levelRoot    level = iota // above AWSLogs/
	levelAWSLogs              // after AWSLogs/ (an organisation id may follow)
	levelAccount              // after the account id
	levelService              // after vpcflowlogs/
	levelRegion               // after the region
	levelYear                 // after the year
	levelMonth                // after the month
	levelDay                  // after the day
	levelHour                 // after the hour
	levelOther                // outside the layout: walked without pruning
)

// pos is a position in the layout: the level reached and the date parts seen.
type pos struct {
	lvl                    level
	year, month, day, hour int
}

// segKind is what one key segment (the text between two slashes) is.
type segKind uint8

const (
	segUnknown segKind = iota
	segAWSLogs
	segOrg
	segAccount
	segService      // vpcflowlogs
	segOtherService // CloudTrail, elasticloadbalancing, ...: pruned
	segRegion
	segDate
)

// step advances p over one segment and says what the segment was, with
// its value (account id, region) when it names one. A segment that does
// not fit the layout moves to levelOther, where nothing more is pruned.
func (p pos) step(seg string) (pos, segKind, string) {
	switch p.lvl {
	case levelRoot:
		if seg == "AWSLogs" {
			p.lvl = levelAWSLogs
			return p, segAWSLogs, ""
		}
		return p, segUnknown, ""
	case levelAWSLogs:
		if isOrgID(seg) {
			return p, segOrg, seg
		}
		v := strings.TrimPrefix(seg, "aws-account-id=")
		if isAccountID(v) {
			p.lvl = levelAccount
			return p, segAccount, v
		}
	case levelAccount:
		v := strings.TrimPrefix(seg, "aws-service=")
		p.lvl = levelService
		if v == "vpcflowlogs" {
			return p, segService, v
		}
		return p, segOtherService, v
	case levelService:
		v := strings.TrimPrefix(seg, "aws-region=")
		if isRegion(v) {
			p.lvl = levelRegion
			return p, segRegion, v
		}
	case levelRegion:
		if n, ok := datePart(seg, "year=", 4, 1970, 9999); ok {
			p.lvl, p.year = levelYear, n
			return p, segDate, ""
		}
	case levelYear:
		if n, ok := datePart(seg, "month=", 2, 1, 12); ok {
			p.lvl, p.month = levelMonth, n
			return p, segDate, ""
		}
	case levelMonth:
		if n, ok := datePart(seg, "day=", 2, 1, 31); ok {
			p.lvl, p.day = levelDay, n
			return p, segDate, ""
		}
	case levelDay:
		if n, ok := datePart(seg, "hour=", 2, 0, 23); ok {
			p.lvl, p.hour = levelHour, n
			return p, segDate, ""
		}
	case levelOther:
		return p, segUnknown, ""
	}
	p.lvl = levelOther
	return p, segUnknown, ""
}

// span is the range of file timestamps a date prefix can hold: [from, to).
// ok is false above the year level.
func (p pos) span() (from, to time.Time, ok bool) {
	switch p.lvl {
	case levelYear:
		from = time.Date(p.year, 1, 1, 0, 0, 0, 0, time.UTC)
		return from, from.AddDate(1, 0, 0), true
	case levelMonth:
		from = time.Date(p.year, time.Month(p.month), 1, 0, 0, 0, 0, time.UTC)
		return from, from.AddDate(0, 1, 0), true
	case levelDay:
		from = time.Date(p.year, time.Month(p.month), p.day, 0, 0, 0, 0, time.UTC)
		return from, from.AddDate(0, 0, 1), true
	case levelHour:
		from = time.Date(p.year, time.Month(p.month), p.day, p.hour, 0, 0, 0, time.UTC)
		return from, from.Add(time.Hour), true
	}
	return time.Time{}, time.Time{}, false
}

// datePart reads "2024" or "year=2024" (with the given Hive name), n digits.
func datePart(seg, hive string, n, lo, hi int) (int, bool) {
	seg = strings.TrimPrefix(seg, hive)
	if len(seg) != n {
		return 0, false
	}
	v, err := strconv.Atoi(seg)
	if err != nil || v < lo || v > hi {
		return 0, false
	}
	return v, true
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// isAccountID reports whether s is a 12-digit AWS account id.
func isAccountID(s string) bool { return len(s) == 12 && isDigits(s) }

// isOrgID reports whether s is an AWS Organizations id (o- and 10 to 32
// lower-case letters or digits).
func isOrgID(s string) bool {
	if len(s) < 12 || len(s) > 34 || !strings.HasPrefix(s, "o-") {
		return false
	}
	for i := 2; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// isRegion reports whether s looks like an AWS region name (us-east-1,
// ap-southeast-2, us-gov-west-1, cn-north-1).
func isRegion(s string) bool {
	parts := strings.Split(s, "-")
	if len(parts) < 3 {
		return false
	}
	for _, p := range parts[:len(parts)-1] {
		if p == "" || strings.IndexFunc(p, func(r rune) bool { return r < 'a' || r > 'z' }) >= 0 {
			return false
		}
	}
	return isDigits(parts[len(parts)-1])
}

// FileInfo is what a flow-log object's name says about its records:
//
//	{account}_vpcflowlogs_{region}_{flow-log-id}_{yyyymmddTHHMMZ}_{hash}.log.gz
type FileInfo struct {
	Account string
	Region  string
	// End is the end of the 5-minute window the file was written for; its
	// records ended before it.
	End time.Time
}

// ParseFileName reads the account, region and time from the base name of
// a flow-log object; ok is false when the name does not follow the AWS
// pattern.
func ParseFileName(key string) (fi FileInfo, ok bool) {
	base := key[strings.LastIndexByte(key, '/')+1:]
	parts := strings.Split(base, "_")
	if len(parts) < 6 || parts[1] != "vpcflowlogs" || !isAccountID(parts[0]) {
		return fi, false
	}
	t, err := time.Parse("20060102T1504Z", parts[4])
	if err != nil {
		return fi, false
	}
	return FileInfo{Account: parts[0], Region: parts[2], End: t}, true
}
