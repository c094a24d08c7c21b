use recagent_llm::replay::{Recorder, Replayer};
use recagent_llm::scripted::ScriptedModel;
use recagent_llm::{ChatRequest, ChatResponse, Error, Message, ToolCall, Usage, complete};
use serde_json::json;

fn answer(q: &str) -> ChatResponse {
    ChatResponse {
        text: String::new(),
        tool_calls: vec![ToolCall {
            id: "call_0".into(),
            name: "search_items".into(),
            arguments: json!({"query": q}),
        }],
        usage: Usage {
            prompt_tokens: 10,
            completion_tokens: 5,
        },
        timings: Default::default(),
        finish_reason: "tool_calls".into(),
    }
}

fn req(text: &str) -> ChatRequest {
    ChatRequest {
        messages: vec![Message::system("sys"), Message::user(text)],
        ..ChatRequest::default()
    }
}

#[tokio::test]
async fn record_then_replay_exactly_and_report_where_a_request_differs() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c/cassette.jsonl");
    let rec = Recorder::create(
        ScriptedModel::new([answer("space"), answer("horror")]),
        &path,
    )
    .unwrap();
    let a = complete(&rec, req("space please")).await.unwrap();
    let b = complete(&rec, req("now horror")).await.unwrap();
    assert_eq!(std::fs::read_to_string(&path).unwrap().lines().count(), 2);

    let rep = Replayer::open(&path).unwrap();
    assert_eq!(rep.len(), 2);
    assert_eq!(complete(&rep, req("space please")).await.unwrap(), a);
    assert_eq!(complete(&rep, req("now horror")).await.unwrap(), b);
    let e = complete(&rep, req("a third")).await.unwrap_err();
    assert!(e.to_string().contains("was not recorded"), "{e}");

    let rep = Replayer::open(&path).unwrap();
    let e = complete(&rep, req("space, please")).await.unwrap_err();
    match &e {
        Error::ReplayMismatch {
            index,
            at,
            recorded,
            got,
            ..
        } => {
            assert_eq!(*index, 0);
            assert_eq!(at, "request.messages[1].content");
            assert_eq!(recorded, "\"space please\"");
            assert_eq!(got, "\"space, please\"");
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_corrupt_cassette_names_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.jsonl");
    std::fs::write(&path, "\n{not json}\n").unwrap();
    let e = Replayer::open(&path).unwrap_err().to_string();
    assert!(e.contains("line 2"), "{e}");
}

#[tokio::test]
async fn scripted_model_runs_out_loudly() {
    let m = ScriptedModel::new([]);
    let e = complete(&m, req("x")).await.unwrap_err();
    assert!(e.to_string().contains("no answers left"));
}
