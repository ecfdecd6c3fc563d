package export

import "time"

// appendTime appends the UTC time ns (since the epoch) in TimeLayout. It
// writes the digits itself for 1970 to 9999: time.Time.AppendFormat
// interprets the layout string on every call, which made the two
// timestamps the costliest part of a record. Other years go through
// AppendFormat.
func appendTime(dst []byte, ns int64) []byte {
	const maxSec = 253402300800 // 10000-01-01T00:00:00Z
	if ns < 0 || ns/1e9 >= maxSec {
		return time.Unix(0, ns).UTC().AppendFormat(dst, TimeLayout)
	}
	// Unsigned from here: division by a constant is then a multiply and a
	// shift, without the sign fix-ups.
	sec, frac := uint64(ns)/1e9, uint64(ns)%1e9
	days, daySec := sec/86400, sec%86400
	y, m, d := civil(days)
	// Filled in place and appended once: appending byte by byte checks
	// capacity thirty times.
	b := [30]byte{4: '-', 7: '-', 10: 'T', 13: ':', 16: ':', 19: '.', 29: 'Z'}
	pair(b[0:2], y/100)
	pair(b[2:4], y%100)
	pair(b[5:7], m)
	pair(b[8:10], d)
	pair(b[11:13], daySec/3600)
	pair(b[14:16], daySec/60%60)
	pair(b[17:19], daySec%60)
	hi, lo := frac/1e5, frac%1e5 // 4 and 5 digits
	pair(b[20:22], hi/100)
	pair(b[22:24], hi%100)
	b[24] = byte('0' + lo/1e4)
	lo %= 1e4
	pair(b[25:27], lo/100)
	pair(b[27:29], lo%100)
	return append(dst, b[:]...)
}

// civil converts days since 1970-01-01 to a proleptic
// Gregorian date. Counting from 0000-03-01 puts the leap day last in each
// year, and 400-year eras of 146097 days repeat exactly, so each field is
// a few divisions.
func civil(days uint64) (year, month, day uint64) {
	z := days + 719468 // days from 0000-03-01 to 1970-01-01
	era := z / 146097
	doe := z - era*146097                                  // day of era, 0..146096
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365 // year of era, 0..399
	doy := doe - (365*yoe + yoe/4 - yoe/100)               // day of the March-based year, 0..365
	mp := (5*doy + 2) / 153                                // month from March, 0..11
	day = doy - (153*mp+2)/5 + 1
	month = mp + 3
	if month > 12 {
		month -= 12
	}
	year = yoe + era*400
	if month <= 2 {
		year++
	}
	return year, month, day
}
