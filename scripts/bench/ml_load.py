"""make bench's ml-inference load (scripts/bench.sh, bench_ml).

  ml_load.py rate PORT TOKEN MODELS_DIR SECONDS RATE
      For each model, an open-loop stream of single-input predictions at RATE requests/s for
      SECONDS: request i is due at t0 + i/RATE and its latency counts from then, so a stall
      counts against every request it delays (no coordinated omission). The inputs are the
      model's held-out texts, a typical one each: review sentences (sentiment, embeddings), an
      email of the held-out set's median length (classifier), a Brown sentence (NER), a
      5,000-character Reuters text (summarizer). Prints, per model:
        RATE <model> <p50 ms> <p99 ms> <achieved rate> <non-2xx>
  ml_load.py body MODEL MODELS_DIR
      The JSON body of one typical request of MODEL (for wrk's closed-loop maximum).
  ml_load.py texts MODEL MODELS_DIR N
      N held-out inputs of MODEL, one per line with newlines folded (for the peers); for the
      classifier, the recipe's tokens of each email, as the fastText CLI reads them.
"""
import http.client
import json
import os
import queue
import statistics
import sys
import threading
import time

SOURCES = {  # model -> the version whose eval/heldout.jsonl holds its inputs
    "sentiment-v3": "sentiment-v3/3.0.0",
    "embeddings-v2": "sentiment-v3/3.0.0",
    "text-classifier-v2": "text-classifier-v2/2.0.0",
    "ner-v2": "ner-v2/2.0.0",
    "summarizer-v1": "summarizer-v1/1.0.0",
}
SUMMARY_CHARS = 5000


def heldout(models_dir, model):
    with open(os.path.join(models_dir, SOURCES[model], "eval", "heldout.jsonl")) as f:
        return [json.loads(line)["text"] for line in f if line.strip()]


def inputs(models_dir, model, n=200):
    texts = heldout(models_dir, model)
    if model == "text-classifier-v2":
        median = sorted(len(t) for t in texts)[len(texts) // 2]
        texts.sort(key=lambda t: abs(len(t) - median))
        return texts[:n]
    if model == "summarizer-v1":
        out, i = [], 0
        while len(out) < n:  # 5,000 characters of consecutive articles, cut at a sentence
            doc = ""
            while len(doc) < SUMMARY_CHARS:
                doc += " ".join(texts[i % len(texts)].split()) + " "
                i += 1
            cut = doc.rfind(". ", 0, SUMMARY_CHARS)
            out.append(doc[:cut + 1])
        return out
    return [t for t in texts if len(t.strip()) > 10][:n]


def post(conn, path, body, token):
    conn.request("POST", path, body=body, headers={"Content-Type": "application/json",
                                                   "Authorization": f"Bearer {token}"})
    r = conn.getresponse()
    r.read()
    return r.status


def rate_run(port, token, model, texts, seconds, rate):
    path = f"/v1/ml/models/{model}/predict"
    bodies = [json.dumps({"input": t}).encode() for t in texts]
    total = int(seconds * rate)
    due = queue.Queue()
    lat, errors, lock = [], [0], threading.Lock()
    t0 = time.perf_counter() + 0.2

    def worker():
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        while True:
            item = due.get()
            if item is None:
                return
            i, at = item
            try:
                status = post(conn, path, bodies[i % len(bodies)], token)
            except (OSError, http.client.HTTPException):
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                status = 0
            done = time.perf_counter()
            with lock:
                lat.append(done - at)
                if status != 200:
                    errors[0] += 1

    workers = [threading.Thread(target=worker, daemon=True) for _ in range(16)]
    for w in workers:
        w.start()
    for i in range(total):
        at = t0 + i / rate
        pause = at - time.perf_counter()
        if pause > 0:
            time.sleep(pause)
        due.put((i, at))
    for _ in workers:
        due.put(None)
    for w in workers:
        w.join()
    elapsed = time.perf_counter() - t0
    lat.sort()
    p50 = statistics.median(lat) * 1000
    p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))] * 1000
    return p50, p99, len(lat) / elapsed, errors[0]


def main():
    cmd = sys.argv[1]
    if cmd == "rate":
        port, token, models_dir = int(sys.argv[2]), sys.argv[3], sys.argv[4]
        seconds, rate = float(sys.argv[5]), float(sys.argv[6])
        for model in SOURCES:
            texts = inputs(models_dir, model)
            rate_run(port, token, model, texts, 1.0, rate)  # warm-up: pages of the model mapped
            p50, p99, achieved, errors = rate_run(port, token, model, texts, seconds, rate)
            print(f"RATE {model} {p50:.3f} {p99:.3f} {achieved:.1f} {errors}", flush=True)
    elif cmd == "body":
        print(json.dumps({"input": inputs(sys.argv[3], sys.argv[2], 1)[0]}))
    elif cmd == "texts":
        model, texts = sys.argv[2], inputs(sys.argv[3], sys.argv[2], int(sys.argv[4]))
        if model == "text-classifier-v2":  # the fastText CLI reads the recipe's tokens
            sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "services",
                                            "ml-inference", "models", model))
            from normalise import normalise
            for t in texts:
                sys.stdout.buffer.write(normalise(t.encode()) + b"\n")
            return
        for t in texts:
            print(" ".join(t.split()))
    else:
        sys.exit(f"unknown command {cmd}")


if __name__ == "__main__":
    main()
