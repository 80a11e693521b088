//! Just enough HTTP/1.1 to read one answer from the Docker engine: a status, headers, and a body
//! sent whole, by `Content-Length`, or chunked. Pure: bytes in, response out.

/// A parsed HTTP response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Response {
    /// The status code, as 200.
    pub status: u16,
    /// The body, de-chunked.
    pub body: Vec<u8>,
}

/// A `GET` for `path` that asks the server to close the connection after answering, so the
/// response ends where the stream does.
pub(crate) fn get_request(path: &str) -> String {
    format!("GET {path} HTTP/1.1\r\nHost: docker\r\nUser-Agent: switchyard\r\nConnection: close\r\n\r\n")
}

/// Parses a complete response (everything the server sent before closing).
pub(crate) fn parse_response(bytes: &[u8]) -> Result<Response, &'static str> {
    let head_end = find(bytes, b"\r\n\r\n").ok_or("the answer has no end of headers")?;
    let head = std::str::from_utf8(&bytes[..head_end]).map_err(|_| "the headers are not text")?;
    let rest = &bytes[head_end + 4..];
    let mut lines = head.split("\r\n");
    let status_line = lines.next().ok_or("the answer is empty")?;
    let mut words = status_line.split(' ');
    if !words.next().is_some_and(|version| version.starts_with("HTTP/1.")) {
        return Err("the answer is not HTTP/1.x");
    }
    let status =
        words.next().and_then(|code| code.parse::<u16>().ok()).ok_or("the status line has no status code")?;
    let mut chunked = false;
    let mut content_length = None;
    for line in lines {
        let (name, value) = line.split_once(':').ok_or("a header line has no ':'")?;
        let value = value.trim();
        if name.eq_ignore_ascii_case("transfer-encoding") {
            chunked = value.eq_ignore_ascii_case("chunked");
        } else if name.eq_ignore_ascii_case("content-length") {
            content_length = Some(value.parse::<usize>().map_err(|_| "Content-Length is not a number")?);
        }
    }
    let body = if chunked {
        dechunk(rest)?
    } else if let Some(length) = content_length {
        rest.get(..length).ok_or("the body is shorter than Content-Length")?.to_vec()
    } else {
        rest.to_vec()
    };
    Ok(Response { status, body })
}

fn dechunk(mut bytes: &[u8]) -> Result<Vec<u8>, &'static str> {
    const TRUNCATED: &str = "a chunk is cut short";
    let mut body = Vec::new();
    loop {
        let line_end = find(bytes, b"\r\n").ok_or(TRUNCATED)?;
        let size_text = std::str::from_utf8(&bytes[..line_end]).map_err(|_| "a chunk size is not text")?;
        let size_text = size_text.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size_text, 16).map_err(|_| "a chunk size is not hex")?;
        bytes = &bytes[line_end + 2..];
        if size == 0 {
            return Ok(body);
        }
        let chunk = bytes.get(..size).ok_or(TRUNCATED)?;
        body.extend_from_slice(chunk);
        bytes = bytes.get(size..).and_then(|after| after.strip_prefix(b"\r\n")).ok_or(TRUNCATED)?;
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|window| window == needle)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn reads_a_content_length_body() {
        let answer = b"HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: 13\r\n\r\n{\"message\":1}";
        let response = parse_response(answer).expect("parses");
        assert_eq!(response.status, 404);
        assert_eq!(response.body, b"{\"message\":1}");
    }

    #[test]
    fn reads_a_chunked_body() {
        let answer = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\n{\"a\"\r\na;ext=1\r\n:1234567}\n\r\n0\r\n\r\n";
        let response = parse_response(answer).expect("parses");
        assert_eq!(response.status, 200);
        assert_eq!(response.body, b"{\"a\":1234567}\n");
    }

    #[test]
    fn reads_a_body_that_ends_with_the_stream() {
        let response = parse_response(b"HTTP/1.0 200 OK\r\n\r\nOK").expect("parses");
        assert_eq!(response.body, b"OK");
    }

    #[test]
    fn rejects_broken_answers() {
        for answer in [
            &b""[..],
            b"HTTP/1.1 200 OK\r\n",
            b"SSH-2.0-OpenSSH\r\n\r\n",
            b"HTTP/1.1 abc OK\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        ] {
            assert!(parse_response(answer).is_err(), "{:?}", String::from_utf8_lossy(answer));
        }
    }

    #[test]
    fn the_request_closes_the_connection() {
        let request = get_request("/containers/web1/json");
        assert!(request.starts_with("GET /containers/web1/json HTTP/1.1\r\n"));
        assert!(request.contains("\r\nConnection: close\r\n"));
        assert!(request.ends_with("\r\n\r\n"));
    }

    proptest! {
        #[test]
        fn any_bytes_parse_or_fail_without_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
            let _ = parse_response(&bytes);
            let mut answer = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
            answer.extend_from_slice(&bytes);
            let _ = parse_response(&answer);
        }
    }
}
