//! A person at the dashboard, without a browser: a client that keeps the session cookie by
//! hand and follows no redirect, and the forms it posts.

use reqwest::StatusCode;
use reqwest::header::{HeaderMap, SET_COOKIE};

/// A person's browser, without the browser: a cookie kept by hand, redirects not followed.
pub struct Person {
    pub base: String,
    pub http: reqwest::Client,
    pub cookie: Option<String>,
}

pub struct Page {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub text: String,
}

impl Person {
    pub fn at(base: &str) -> Self {
        Self {
            base: base.to_owned(),
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            cookie: None,
        }
    }

    pub async fn get(&mut self, path: &str) -> Page {
        let request = self.http.get(format!("{}{path}", self.base));
        self.send(request).await
    }

    pub async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Page {
        let request = form_post(&self.http, &format!("{}{path}", self.base), form);
        self.send(request).await
    }

    pub async fn send(&mut self, mut request: reqwest::RequestBuilder) -> Page {
        if let Some(cookie) = &self.cookie {
            request = request.header("Cookie", cookie);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        if let Some(set) = headers.get(SET_COOKIE) {
            let pair = set.to_str().unwrap().split(';').next().unwrap().to_owned();
            self.cookie = (!pair.ends_with('=')).then_some(pair);
        }
        let text = response.text().await.unwrap();
        Page {
            status,
            headers,
            text,
        }
    }

    /// The CSRF token of the page's forms.
    pub fn csrf(page: &Page) -> String {
        let at = page
            .text
            .find("name=\"csrf\" value=\"")
            .expect("a form with its CSRF token");
        page.text[at + 19..at + 19 + 64].to_owned()
    }
}

/// A POST of `form`, URL-encoded, as a browser sends it.
pub fn form_post(
    http: &reqwest::Client,
    url: &str,
    form: &[(&str, &str)],
) -> reqwest::RequestBuilder {
    let body = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(form)
        .finish();
    http.post(url)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(body)
}
