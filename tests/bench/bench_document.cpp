#include "core/cli/cli.h"
#include "core/document/documenttree.h"
#include "core/document/documenttree_p.h"
#include "core/document/jsontape.h"

#include <QBuffer>
#include <QCoreApplication>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>

#include <simdjson.h>
#include <QElapsedTimer>

#include <malloc.h>
#include <time.h>

#include <cerrno>
#include <cstdio>
#include <algorithm>
#include <chrono>
#include <cstring>
#include <functional>
#include <random>
#include <string>
#include <vector>

using namespace deltascope;

// Fold rate with parsing (budget: >= 1,000,000 deltas/s on one core for documents of a few hundred
// nodes and deltas of a few hundred bytes), the rate on a 100,000-element list, memory per node
// (aim: under 64 bytes beside strings) and encode rate (budget: >= 200,000 encodes/s). Rates are per
// CPU-second of the benchmark thread.
namespace {

// CPU time of this thread: the machine is shared, so wall time would measure the neighbours too.
class CpuTimer
{
public:
    CpuTimer() { restart(); }
    void restart() { m_start = now(); }
    qint64 nsecsElapsed() const { return now() - m_start; }

private:
    static qint64 now()
    {
        timespec ts {};
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
        return qint64(ts.tv_sec) * 1000000000 + ts.tv_nsec;
    }
    qint64 m_start = 0;
};

struct Stream {
    DocumentTree start;
    std::vector<std::string_view> deltas; // views into `text`: contiguous, as in a capture file
    std::string text;
    std::vector<DocumentTree> states; // states[i] -> states[i + 1] is deltas[i]
    double averageBytes = 0;
};

// Which kinds of change a game stream's transactions make (--breakdown switches them off one by one).
struct GameParts {
    bool scores = true;
    bool board = true;
    bool chat = true;
};

// A game-like document of a few hundred nodes, evolved the way a server would: scores, a board,
// a chat that scrolls (insert at the end, drop the oldest), players reordered by score.
Stream gameStream(int count, quint64 seed, int busy = 1, GameParts parts = {})
{
    std::mt19937_64 rng(seed);
    const auto below = [&](int n) { return int(rng() % quint64(n)); };
    DocumentTree tree;
    const NodeId root = tree.root();
    tree.setString(root, u"title", u"Table 7");
    tree.setString(root, u"started", u"1718000000000");
    const NodeId players = tree.setRecordList(root, u"players");
    QStringList order;
    for (int i = 1; i <= 16; ++i) {
        const QString id = QString::number(i);
        const NodeId p = tree.setElementObject(players, id);
        tree.setInteger(p, u"id", i);
        tree.setString(p, u"name", QStringLiteral("player%1").arg(i));
        tree.setInteger(p, u"score", 0);
        tree.setBool(p, u"ready", false);
        const NodeId who = tree.setObject(p, u"who");
        tree.setString(who, u"agent", QStringLiteral("agent%1").arg(i));
        tree.setString(who, u"authority", u"anonymous");
        order << id;
    }
    tree.setOrder(players, order);
    const NodeId board = tree.setValueList(root, u"board");
    tree.resizeValueList(board, 64);
    for (int i = 0; i < 64; ++i)
        tree.setInteger(board, QString::number(i), 0);
    const NodeId chat = tree.setRecordList(root, u"chat");
    QStringList chatOrder;
    int nextLine = 1;
    for (; nextLine <= 20; ++nextLine) {
        const QString id = QString::number(nextLine);
        const NodeId line = tree.setElementObject(chat, id);
        tree.setString(line, u"who", u"agent1");
        tree.setString(line, u"what", QStringLiteral("hello number %1").arg(nextLine));
        tree.setString(line, u"when", QString::number(1718000000000LL + nextLine));
        chatOrder << id;
    }
    tree.setOrder(chat, chatOrder);

    Stream stream;
    stream.start = tree;
    stream.states.push_back(tree);
    std::size_t bytes = 0;
    std::vector<std::string> copies;
    while (int(copies.size()) < count) {
        DocumentTree next = stream.states.back();
        // Several changes per transaction, as a busy game produces.
        for (int k = 0; k < (parts.scores ? 3 * busy : 0); ++k) {
            const QString pid = order.at(below(int(order.size())));
            const NodeId p = next.find(QString(QStringLiteral("players/") + pid));
            next.setInteger(p, u"score", next.integerValue(next.find(QStringLiteral("players/%1/score").arg(pid))) + 1 + below(10));
        }
        for (int k = 0; k < (parts.board ? 4 * busy : 0); ++k)
            next.setInteger(next.find(u"board"), QString::number(below(64)), below(3));
        if (below(3) == 0) {
            next.setBool(next.find(QString(QStringLiteral("players/") + order.at(below(16)))), u"ready", below(2) == 1);
        }
        for (int chatLine = 0; chatLine < (parts.chat ? busy : 0); ++chatLine) {
            if (below(2) != 0)
                continue;
            const QString id = QString::number(nextLine++);
            const NodeId chatList = next.find(u"chat");
            const NodeId line = next.setElementObject(chatList, id);
            next.setString(line, u"who", QStringLiteral("agent%1").arg(1 + below(16)));
            next.setString(line, u"what", QStringLiteral("message %1 with some text").arg(nextLine));
            next.setString(line, u"when", QString::number(1718000000000LL + nextLine * 100));
            chatOrder << id;
            next.removeElement(chatList, chatOrder.takeFirst());
            next.setOrder(chatList, chatOrder);
        }
        if (below(8) == 0) {
            std::swap(order[below(16)], order[below(16)]);
            next.setOrder(next.find(u"players"), order);
        }
        const QByteArray delta = encodeDelta(stream.states.back(), next);
        if (delta.isEmpty())
            continue;
        bytes += std::size_t(delta.size());
        copies.emplace_back(delta.constData(), std::size_t(delta.size()));
        stream.states.push_back(std::move(next));
    }
    stream.text.reserve(bytes);
    for (const std::string& d : copies)
        stream.text += d;
    std::size_t offset = 0;
    for (std::size_t i = 0; i < copies.size(); ++i) {
        stream.deltas.push_back(std::string_view(stream.text).substr(offset, copies[i].size()));
        offset += copies[i].size();
    }
    stream.averageBytes = double(bytes) / double(stream.deltas.size());
    return stream;
}

// The best of five batches of rounds / 5 passes each: the machine is a shared VM whose neighbours steal
// cycles even from thread CPU time (cache, frequency), so one batch can read 30% low.
// Folds as the product does (SessionFolder): one FoldResult reused from delta to delta. With
// `freshResults`, each apply() returns a new FoldResult instead (the allocations of its vectors).
// `mode` ReferenceClient folds as a live session's merged tree does, from the same start.
double foldRate(const Stream& stream, int rounds, std::size_t* nodes, DocumentTree::ChangeDetail detail = DocumentTree::ChangeDetail::Full,
    bool freshResults = false, FoldMode mode = FoldMode::Canonical)
{
    DocumentTree start = stream.start;
    if (mode != FoldMode::Canonical) {
        start = DocumentTree(mode);
        const QByteArray snapshot = stream.start.toSnapshotDelta();
        start.apply(std::string_view(snapshot.constData(), std::size_t(snapshot.size())));
    }
    double best = 0;
    for (int batch = 0; batch < 5; ++batch) {
        CpuTimer timer;
        std::size_t folded = 0;
        for (int r = 0; r < std::max(1, rounds / 5); ++r) {
            DocumentTree tree = start; // a cheap copy; the first writes copy only touched chunks
            qint64 event = 0;
            FoldResult result;
            for (std::string_view delta : stream.deltas) {
                if (freshResults)
                    result = tree.apply(delta, event++, detail);
                else
                    tree.apply(delta, event++, result, detail);
                if (!result.parsed)
                    std::fprintf(stderr, "unexpected parse failure\n");
            }
            folded += stream.deltas.size();
            if (nodes)
                *nodes = tree.nodeCount();
        }
        best = std::max(best, double(folded) / (double(timer.nsecsElapsed()) / 1e9));
    }
    return best;
}

// `deltascope-cli fold -` over the stream as NDJSON (bare deltas, or each wrapped in a server frame),
// in process with buffers: what a user folding a file gets, line reading and printing included.
double cliFoldRate(const Stream& stream, bool frames, int rounds)
{
    // The stream's start as its first delta (a snapshot), so the deltas fold onto what they were made for.
    const QByteArray snapshot = stream.start.toSnapshotDelta();
    std::vector<std::string_view> deltas { std::string_view(snapshot.constData(), std::size_t(snapshot.size())) };
    deltas.insert(deltas.end(), stream.deltas.begin(), stream.deltas.end());
    QByteArray ndjson;
    qint64 seq = 0;
    for (std::string_view delta : deltas) {
        if (frames)
            ndjson += "{\"deliver\":1,\"response\":{\"delta\":{\"data\":";
        ndjson.append(delta.data(), qsizetype(delta.size()));
        if (frames)
            ndjson += ",\"seq\":" + QByteArray::number(++seq) + "}}}";
        ndjson += '\n';
    }
    double best = 0;
    for (int batch = 0; batch < 3; ++batch) {
        CpuTimer timer;
        qint64 folded = 0;
        for (int r = 0; r < rounds; ++r) {
            QBuffer input(&ndjson);
            input.open(QIODevice::ReadOnly);
            QString printed;
            QString errors;
            QTextStream out(&printed);
            QTextStream err(&errors);
            cli::CommandIo io { out, err, input };
            if (cli::run({ QStringLiteral("fold"), QStringLiteral("-") }, io) != cli::ExitOk)
                std::fprintf(stderr, "fold failed: %s\n", qPrintable(errors));
            folded += qint64(deltas.size());
        }
        best = std::max(best, double(folded) / (double(timer.nsecsElapsed()) / 1e9));
    }
    return best;
}

// `json` with every string value replaced by "" (keys kept): the heap the strings' text takes drops out.
QByteArray withEmptyStrings(const QByteArray& json)
{
    const std::function<QJsonValue(const QJsonValue&)> strip = [&](const QJsonValue& value) -> QJsonValue {
        if (value.isString())
            return QString();
        if (value.isArray()) {
            QJsonArray out;
            for (const QJsonValue& item : value.toArray())
                out.append(strip(item));
            return out;
        }
        if (value.isObject()) {
            QJsonObject out;
            const QJsonObject in = value.toObject();
            for (auto it = in.begin(); it != in.end(); ++it)
                out.insert(it.key(), strip(it.value()));
            return out;
        }
        return value;
    };
    return QJsonDocument(strip(QJsonDocument::fromJson(json).object()).toObject()).toJson(QJsonDocument::Compact);
}

std::size_t heapInUse()
{
    const struct mallinfo2 info = mallinfo2();
    return info.uordblks + info.hblkhd;
}

}

// Encodes per second over consecutive states of `stream`, best of five batches of rounds / 5 passes
// each (the same reason as foldRate's). `bytesPerPass`: the bytes one pass over the stream writes.
double encodeRate(const Stream& stream, int rounds, std::size_t* bytesPerPass)
{
    double best = 0;
    for (int batch = 0; batch < 5; ++batch) {
        CpuTimer timer;
        std::size_t encodes = 0;
        std::size_t bytes = 0;
        for (int r = 0; r < std::max(1, rounds / 5); ++r) {
            for (std::size_t i = 0; i + 1 < stream.states.size(); ++i) {
                bytes += std::size_t(encodeDelta(stream.states[i], stream.states[i + 1]).size());
                ++encodes;
            }
        }
        best = std::max(best, double(encodes) / (double(timer.nsecsElapsed()) / 1e9));
        if (bytesPerPass)
            *bytesPerPass = bytes / std::size_t(std::max(1, rounds / 5));
    }
    return best;
}

// Encodes per second as the reference server makes them: right after the transaction that made the
// new state (here the fold of the stream's next delta onto a copy of the previous state), against
// that previous state, so both trees are as warm as a server's are. Only encodeDelta() is timed, by
// the monotonic clock (a thread-CPU clock read costs a system call here, a tenth of an encode);
// best of five batches. `identical`: how many encodes gave back the stream's own delta, byte for
// byte, of `encodes` in a batch (the stream was made by the same encoder, so every one should).
double encodeRateAfterTransaction(const Stream& stream, int rounds, std::size_t* identical, std::size_t* encodesPerBatch)
{
    double best = 0;
    for (int batch = 0; batch < 5; ++batch) {
        std::chrono::steady_clock::duration spent {};
        std::size_t encodes = 0;
        std::size_t same = 0;
        for (int r = 0; r < std::max(1, rounds / 5); ++r) {
            DocumentTree previous = stream.start;
            qint64 event = 0;
            FoldResult result;
            for (std::string_view delta : stream.deltas) {
                DocumentTree next = previous;
                next.apply(delta, event++, result, DocumentTree::ChangeDetail::None);
                const auto started = std::chrono::steady_clock::now();
                const QByteArray encoded = encodeDelta(previous, next);
                spent += std::chrono::steady_clock::now() - started;
                ++encodes;
                same += std::string_view(encoded.constData(), std::size_t(encoded.size())) == delta;
                previous = std::move(next);
            }
        }
        best = std::max(best, double(encodes) / std::chrono::duration<double>(spent).count());
        *identical = same;
        *encodesPerBatch = encodes;
    }
    return best;
}

// Both encode rates of the medium stream: consecutive stored states (each read cold: 5,000 trees
// do not fit in a cache), and as the server encodes.
void printEncodeRates(const Stream& stream, int rounds)
{
    std::size_t bytes = 0;
    const double rate = encodeRate(stream, rounds, &bytes);
    std::printf("document.encode.medium.rate: %.0f encodes/s (budget >= 200000; %zu bytes out per pass; stored states, read cold)\n",
        rate, bytes);
    std::size_t identical = 0;
    std::size_t encodes = 0;
    const double served = encodeRateAfterTransaction(stream, rounds, &identical, &encodes);
    std::printf("document.encode.medium.after_transaction_rate: %.0f encodes/s (each right after its transaction, as the server encodes; "
                "%zu of %zu identical to the stream's deltas)\n",
        served, identical, encodes);
}

// The stream as NDJSON, for folding it with another implementation (the protocol's own client, say) in
// the same minutes as this benchmark: its start as a snapshot delta on the first line, then one delta
// per line. Returns false, having said why, when the file cannot be written.
static bool writeStreamFile(const Stream& stream, const std::string& path)
{
    std::FILE* file = std::fopen(path.c_str(), "wb");
    if (!file) {
        std::fprintf(stderr, "bench_document: cannot write %s: %s\n", path.c_str(), std::strerror(errno));
        return false;
    }
    const QByteArray snapshot = stream.start.toSnapshotDelta();
    bool ok = std::fwrite(snapshot.constData(), 1, std::size_t(snapshot.size()), file) == std::size_t(snapshot.size())
        && std::fputc('\n', file) != EOF;
    for (std::size_t i = 0; ok && i < stream.deltas.size(); ++i)
        ok = std::fwrite(stream.deltas[i].data(), 1, stream.deltas[i].size(), file) == stream.deltas[i].size() && std::fputc('\n', file) != EOF;
    if (std::fclose(file) != 0)
        ok = false;
    if (!ok)
        std::fprintf(stderr, "bench_document: writing %s failed: %s\n", path.c_str(), std::strerror(errno));
    return ok;
}

int main(int argc, char** argv)
{
    QCoreApplication application(argc, argv);
    const bool quick = argc > 1 && std::strcmp(argv[1], "--quick") == 0;
    const bool foldOnly = argc > 1 && std::strcmp(argv[1], "--fold-only") == 0; // for profiling the hot path
    // The busy or the medium stream alone, for perf; `--busy-only ROUNDS` folds it fewer times,
    // for callgrind (`--busy-only ROUNDS --reference-client`: the merging fold instead).
    const bool busyOnly = argc > 1 && std::strcmp(argv[1], "--busy-only") == 0;
    const bool mediumOnly = argc > 1 && std::strcmp(argv[1], "--medium-only") == 0;
    const bool encodeOnly = argc > 1 && std::strcmp(argv[1], "--encode-only") == 0; // the medium stream's encodes
    // The busy stream's chat alone (a record list that scrolls), the costliest kind of change, for perf.
    const bool chatOnly = argc > 1 && std::strcmp(argv[1], "--chat-only") == 0;
    const int onlyRounds = (busyOnly || mediumOnly || encodeOnly || chatOnly) && argc > 2 ? std::max(5, std::atoi(argv[2])) : 200;
    // The busy stream with one kind of change left out at a time: what each kind costs per delta.
    const bool breakdown = argc > 1 && std::strcmp(argv[1], "--breakdown") == 0;

    if (argc > 1 && std::strcmp(argv[1], "--write-streams") == 0) {
        if (argc != 3) {
            std::fprintf(stderr, "usage: bench_document --write-streams DIR (writes DIR/medium.ndjson and DIR/busy.ndjson)\n");
            return 2;
        }
        const std::string dir = argv[2];
        if (!writeStreamFile(gameStream(5000, 42), dir + "/medium.ndjson") || !writeStreamFile(gameStream(5000, 43, 2), dir + "/busy.ndjson"))
            return 2;
        std::printf("wrote %s/medium.ndjson and %s/busy.ndjson (first line: the start as a snapshot; then 5000 deltas)\n", dir.c_str(), dir.c_str());
        return 0;
    }

    // 1. Fold rate, medium document.
    if (busyOnly) {
        const Stream busy = gameStream(5000, 43, 2);
        const bool reference = argc > 3 && std::strcmp(argv[3], "--reference-client") == 0;
        if (reference)
            std::printf("document.fold.medium_busy.reference_client_rate: %.0f deltas/s\n",
                foldRate(busy, onlyRounds, nullptr, DocumentTree::ChangeDetail::None, false, FoldMode::ReferenceClient));
        else
            std::printf("document.fold.medium_busy.rate: %.0f deltas/s (parse included, one core)\n", foldRate(busy, onlyRounds, nullptr));
        return 0;
    }
    if (encodeOnly) {
        printEncodeRates(gameStream(5000, 42), std::min(onlyRounds, 50));
        return 0;
    }
    if (chatOnly) {
        const Stream chat = gameStream(5000, 43, 2, { false, false, true });
        std::printf("document.fold.busy_breakdown.chat_only: %.0f deltas/s\n", foldRate(chat, onlyRounds, nullptr));
        return 0;
    }
    if (mediumOnly) {
        const Stream medium = gameStream(5000, 42);
        std::printf("document.fold.medium.rate: %.0f deltas/s (parse included, one core)\n", foldRate(medium, onlyRounds, nullptr));
        return 0;
    }
    if (breakdown) {
        const struct {
            const char* name;
            GameParts parts;
        } variants[] = {
            { "all", {} },
            { "no_chat", { true, true, false } },
            { "no_board", { true, false, true } },
            { "no_scores", { false, true, true } },
            { "chat_only", { false, false, true } },
        };
        for (const auto& variant : variants) {
            const Stream busy = gameStream(5000, 43, 2, variant.parts);
            foldRate(busy, 1, nullptr);
            const double rate = foldRate(busy, 40, nullptr);
            std::printf("document.fold.busy_breakdown.%s: %.0f deltas/s, %.0f ns/delta (%.0f bytes average)\n", variant.name, rate,
                1e9 / rate, busy.averageBytes);
        }
        return 0;
    }
    const Stream stream = gameStream(quick ? 500 : 5000, 42);
    std::size_t nodes = 0;
    foldRate(stream, 1, &nodes); // warm-up: parser buffers, caches
    const double rate = foldRate(stream, quick ? 2 : foldOnly ? 400 : 40, &nodes);
    std::printf("document.fold.medium.nodes: %zu nodes\n", nodes);
    std::printf("document.fold.medium.delta_size: %.0f bytes (average)\n", stream.averageBytes);
    std::printf("document.fold.medium.rate: %.0f deltas/s (budget >= 1000000, parse included, one core)\n", rate);
    std::printf("document.fold.medium.rate_fresh_results: %.0f deltas/s (a new FoldResult per delta)\n",
        foldRate(stream, quick ? 2 : foldOnly ? 400 : 40, nullptr, DocumentTree::ChangeDetail::Full, true));
    const double rateWithoutChanges = foldRate(stream, quick ? 2 : foldOnly ? 400 : 40, nullptr, DocumentTree::ChangeDetail::None);
    std::printf("document.fold.medium.rate_without_change_set: %.0f deltas/s (ChangeDetail::None: tree, provenance and anomalies only)\n",
        rateWithoutChanges);
    {
        // The parsers alone on the same stream, for scale: simdjson's DOM parser, and the direct
        // tape builder the fold tries first (jsontape.h), each from a padded copy as the fold has.
        simdjson::dom::parser parser;
        const bool allocated = parser.allocate(64 * 1024) == simdjson::SUCCESS && parser.doc.allocate(64 * 1024) == simdjson::SUCCESS;
        std::string padded;
        std::size_t parsed = 0;
        std::size_t offered = 0;
        const auto parseRate = [&](bool direct) {
            CpuTimer timer;
            parsed = 0;
            offered = 0;
            for (int r = 0; r < (quick ? 2 : 40); ++r) {
                for (std::string_view delta : stream.deltas) {
                    padded.assign(delta);
                    padded.resize(delta.size() + simdjson::SIMDJSON_PADDING); // NUL-filled, as the direct parser needs
                    parsed += direct ? detail::parsePaddedJsonToTape(padded.data(), delta.size(), parser.doc)
                                     : parser.parse(padded.data(), delta.size(), false).error() == simdjson::SUCCESS;
                    ++offered;
                }
            }
            return double(offered) / (double(timer.nsecsElapsed()) / 1e9);
        };
        if (allocated) {
            const double simdjsonRate = parseRate(false);
            std::printf("document.parse_only.medium.rate: %.0f deltas/s (simdjson alone, for scale; %zu of %zu parsed)\n",
                simdjsonRate, parsed, offered);
            const double directRate = parseRate(true);
            std::printf("document.parse_only.medium.direct_rate: %.0f deltas/s (the direct tape builder alone, for scale; %zu of %zu taken)\n",
                directRate, parsed, offered);
        } else {
            std::printf("document.parse_only.medium.rate: not measured (could not allocate the parser)\n");
        }
    }
    {
        // Busier transactions (twice the edits and chat lines): deltas of a few hundred bytes.
        const Stream busy = gameStream(quick ? 500 : 5000, 43, 2);
        std::size_t busyNodes = 0;
        foldRate(busy, 1, &busyNodes);
        const double busyRate = foldRate(busy, quick ? 2 : 40, &busyNodes);
        std::printf("document.fold.medium_busy.delta_size: %.0f bytes (average; %zu nodes)\n", busy.averageBytes, busyNodes);
        std::printf("document.fold.medium_busy.rate: %.0f deltas/s (parse included, one core)\n", busyRate);
        // A live session folds each delta twice more than this: the merged tree a reference client
        // would hold (tree.js's rules, ChangeDetail::None) beside the canonical one, in its folder
        // and again in its incident analyzer. What that fold costs, for live headroom.
        std::printf("document.fold.medium_busy.reference_client_rate: %.0f deltas/s (FoldMode::ReferenceClient, ChangeDetail::None)\n",
            foldRate(busy, quick ? 2 : 40, nullptr, DocumentTree::ChangeDetail::None, false, FoldMode::ReferenceClient));
        if (!foldOnly) {
            std::printf("document.fold.cli.bare_deltas: %.0f deltas/s (deltascope-cli fold of the busy stream as NDJSON, in process)\n",
                cliFoldRate(busy, false, quick ? 1 : 8));
            std::printf("document.fold.cli.server_frames: %.0f deltas/s (the same deltas inside server frames)\n",
                cliFoldRate(busy, true, quick ? 1 : 8));
        }
    }
    if (foldOnly)
        return 0;
    {
        // Memory of the medium document, built from its snapshot (slots come in chunks of 32).
        const QByteArray snapshot = stream.states.back().toSnapshotDelta();
        const auto perNode = [](const QByteArray& json, std::size_t* nodes) {
            {
                DocumentTree warm;
                warm.apply(std::string_view(json.constData(), std::size_t(json.size())), 0);
            }
            const std::size_t before = heapInUse();
            DocumentTree tree;
            tree.apply(std::string_view(json.constData(), std::size_t(json.size())), 0);
            const std::size_t after = heapInUse();
            *nodes = tree.nodeCount();
            return double(after - before) / double(tree.nodeCount());
        };
        std::size_t mediumNodes = 0;
        const double allIncluded = perNode(snapshot, &mediumNodes);
        std::printf("document.memory.medium.per_node: %.1f bytes (heap in use / %zu nodes, all included)\n", allIncluded, mediumNodes);
        // The budget's measure is "beside the strings": the same document with every string value
        // emptied (empty strings take no heap), so what remains is nodes, containers, member lists
        // and indexes, and keys longer than 7 bytes.
        std::size_t strippedNodes = 0;
        const double besideStrings = perNode(withEmptyStrings(snapshot), &strippedNodes);
        std::printf("document.memory.medium.per_node_beside_strings: %.1f bytes (aim < 64; string values emptied, %zu nodes)\n",
            besideStrings, strippedNodes);
    }

    // 2. Encode rate on the same states.
    printEncodeRates(stream, quick ? 5 : 10);

    // 3. A document with 100,000 list elements: field edits, and order changes (append + drop oldest).
    {
        const int size = quick ? 10000 : 100000;
        std::string snapshot = "{\"items\":{";
        std::string order = "\"@o\":[";
        for (int i = 0; i < size; ++i) {
            snapshot += "\"" + std::to_string(i) + "\":{\"v\":" + std::to_string(i) + "},";
            order += (i ? "," : "") + std::to_string(i);
        }
        snapshot += order + "]}}";
        {
            DocumentTree warm; // the parser's buffers for a text this size are not part of the tree
            warm.apply(snapshot, 0);
        }
        const std::size_t heapBefore = heapInUse();
        DocumentTree big;
        CpuTimer timer;
        big.apply(snapshot, 0);
        const double snapshotSeconds = double(timer.nsecsElapsed()) / 1e9;
        const std::size_t heapAfter = heapInUse();
        const std::size_t bigNodes = big.nodeCount();
        std::printf("document.fold.large.snapshot: %.1f ms for %zu nodes (%.1f MB of JSON)\n", snapshotSeconds * 1e3, bigNodes,
            double(snapshot.size()) / 1e6);
        // Half the nodes here are element objects ({"v":n}), the other half integers. An object of
        // up to two members keeps them in its node, so these have no container. Heap growth counts
        // node slots, containers, member and order vectors, the list's index and any out-of-line
        // key or string.
        std::printf("document.memory.per_node: %.1f bytes (heap in use / nodes, all included; keys <= 7 bytes inline)\n",
            double(heapAfter - heapBefore) / double(bigNodes));
        std::printf("document.memory.node_slot: %zu bytes (of which %zu the key); object container %zu bytes (objects of over two members), list container %zu, + their vectors\n",
            sizeof(detail::Node), sizeof(detail::Key), sizeof(detail::Container), sizeof(detail::ListContainer));

        std::mt19937_64 rng(7);
        std::vector<std::string> edits;
        for (int i = 0; i < 2000; ++i)
            edits.push_back("{\"items\":{\"" + std::to_string(rng() % quint64(size)) + "\":{\"v\":" + std::to_string(i) + "}}}");
        timer.restart();
        const int editRounds = quick ? 1 : 50;
        for (int r = 0; r < editRounds; ++r) {
            for (const std::string& e : edits)
                big.apply(e, 1);
        }
        std::printf("document.fold.large.field_edit_rate: %.0f deltas/s (%d-element record list)\n",
            double(edits.size()) * editRounds / (double(timer.nsecsElapsed()) / 1e9), size);

        int next = size;
        int oldest = 0;
        const int appends = quick ? 50 : 5000;
        timer.restart();
        for (int i = 0; i < appends; ++i) {
            // Append one, drop the oldest: @o is one range plus the new id, as DRecordList sends it.
            const std::string delta = "{\"items\":{\"" + std::to_string(next) + "\":{\"v\":1},\"" + std::to_string(oldest)
                + "\":null,\"@o\":[[1," + std::to_string(size - 1) + "]," + std::to_string(next) + "]}}";
            big.apply(delta, 2);
            ++next;
            ++oldest;
        }
        std::printf("document.fold.large.reorder_rate: %.0f deltas/s (append + drop oldest, %d elements)\n",
            double(appends) / (double(timer.nsecsElapsed()) / 1e9), size);
        timer.restart();
        const int copies = quick ? 10 : 200;
        for (int i = 0; i < copies; ++i) {
            DocumentTree copy = big;
            copy.apply("{\"items\":{\"" + std::to_string(next - 1) + "\":{\"v\":2}}}", 3);
        }
        std::printf("document.copy.large: %.1f us per copy-and-edit (%zu nodes)\n",
            double(timer.nsecsElapsed()) / 1e3 / copies, bigNodes);
    }
    return 0;
}
