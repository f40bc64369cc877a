#include <catch2/catch.hpp>

#include "core/document/documenttree.h"
#include "core/document/mutator.h"
#include "documenttestutils.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>

#include <algorithm>
#include <functional>
#include <random>
#include <thread>
#include <set>

using namespace deltascope;
using namespace deltascope::test;

namespace {

QJsonValue visible(const DocumentTree& tree) { return parseJson(tree.toJson()); }

bool hasAnomaly(const std::vector<Anomaly>& anomalies, AnomalyKind kind)
{
    return std::any_of(anomalies.begin(), anomalies.end(), [&](const Anomaly& a) { return a.kind == kind; });
}

DocumentTree folded(const QList<QByteArray>& deltas, FoldMode mode = FoldMode::Canonical, std::vector<Anomaly>* anomalies = nullptr)
{
    DocumentTree tree(mode);
    qint64 event = 0;
    for (const QByteArray& delta : deltas) {
        FoldResult result = tree.apply(std::string_view(delta.constData(), std::size_t(delta.size())), event++);
        REQUIRE(result.parsed);
        if (anomalies)
            anomalies->insert(anomalies->end(), result.anomalies.begin(), result.anomalies.end());
    }
    return tree;
}

DocumentTree fromText(const char* json)
{
    DocumentTree tree;
    tree.apply(json);
    return tree;
}

// A stream the two modes show differently: folds it in each and checks what each shows. The
// reference mode always reports why; the canonical one when `canonicalReports`.
struct ModesCase {
    const char* name;
    QList<QByteArray> deltas;
    const char* reference;
    const char* canonical;
    bool canonicalReports = true;
};

void checkBothModes(const ModesCase& c)
{
    INFO(c.name);
    std::vector<Anomaly> referenceAnomalies;
    const DocumentTree reference = folded(c.deltas, FoldMode::ReferenceClient, &referenceAnomalies);
    INFO("reference mode gave " << reference.toJson().toStdString());
    CHECK(sameJson(visible(reference), parseJson(c.reference)));
    CHECK(checkTreeInvariants(reference).isEmpty());
    std::vector<Anomaly> canonicalAnomalies;
    const DocumentTree canonical = folded(c.deltas, FoldMode::Canonical, &canonicalAnomalies);
    INFO("canonical mode gave " << canonical.toJson().toStdString());
    CHECK(sameJson(visible(canonical), parseJson(c.canonical)));
    CHECK(checkTreeInvariants(canonical).isEmpty());
    CHECK_FALSE(referenceAnomalies.empty());
    CHECK(canonicalAnomalies.empty() != c.canonicalReports);
}

}

TEST_CASE("fold: every conformance vector gives the expected document")
{
    const QList<DeltaVector> vectors = loadDeltaVectors();
    REQUIRE(vectors.size() >= 30);
    for (const DeltaVector& vector : vectors) {
        INFO("vector " << vector.name.toStdString());
        std::vector<Anomaly> anomalies;
        const DocumentTree tree = folded(vector.deltas, FoldMode::Canonical, &anomalies);
        INFO("got " << tree.toJson().toStdString());
        CHECK(sameJson(visible(tree), vector.expected));
        CHECK(checkTreeInvariants(tree).isEmpty());
        // Pretty output is the same document.
        CHECK(sameJson(parseJson(tree.toJson(true)), vector.expected));
        if (vector.referenceClient.isUndefined()) {
            CHECK_FALSE(hasAnomaly(anomalies, AnomalyKind::ReferenceClientDiffers));
            CHECK_FALSE(hasAnomaly(anomalies, AnomalyKind::ValueListEditedWithoutSize));
        }
    }
}

TEST_CASE("fold: vectors where the reference client differs report it, and ReferenceClient mode reproduces it")
{
    int checked = 0;
    for (const DeltaVector& vector : loadDeltaVectors()) {
        if (vector.referenceClient.isUndefined())
            continue;
        ++checked;
        INFO("vector " << vector.name.toStdString());
        std::vector<Anomaly> canonicalAnomalies;
        folded(vector.deltas, FoldMode::Canonical, &canonicalAnomalies);
        CHECK((hasAnomaly(canonicalAnomalies, AnomalyKind::ReferenceClientDiffers)
            || hasAnomaly(canonicalAnomalies, AnomalyKind::ValueListEditedWithoutSize)));
        for (const Anomaly& anomaly : canonicalAnomalies) {
            CHECK(anomaly.eventIndex == vector.deltas.size() - 1);
            CHECK_FALSE(anomaly.path.isEmpty());
            CHECK_FALSE(anomaly.message.isEmpty());
        }
        std::vector<Anomaly> referenceAnomalies;
        const DocumentTree reference = folded(vector.deltas, FoldMode::ReferenceClient, &referenceAnomalies);
        INFO("reference mode gave " << reference.toJson().toStdString());
        CHECK(sameJson(visible(reference), vector.referenceClient));
        CHECK_FALSE(referenceAnomalies.empty());
        CHECK(checkTreeInvariants(reference).isEmpty());
    }
    CHECK(checked >= 2);
}

TEST_CASE("fold: an integer or bool changed in place follows each mode's rules, in objects and list elements")
{
    // The in-place path for a member (one-member element deltas and object members alike) must do
    // what the general path does: JavaScript's double beyond 2^53 and tree.js's hidden keys in
    // ReferenceClient mode, exact integers in the canonical fold.
    const std::string start = R"({"n":1,"b":false,"l":{"1":{"n":1,"b":false,"#h":0},"2":{"n":2},"@o":[1,2]}})";
    const std::string edits = R"({"n":9007199254740993,"b":true,"l":{"1":{"n":-9007199254740995},"2":{"n":3}}})";
    const std::string more = R"({"l":{"1":{"b":true},"2":{"#h":7}}})";
    for (FoldMode mode : { FoldMode::Canonical, FoldMode::ReferenceClient }) {
        INFO((mode == FoldMode::Canonical ? "canonical" : "reference client"));
        DocumentTree tree(mode);
        tree.apply(start, 0);
        const FoldResult first = tree.apply(edits, 1);
        CHECK(first.anomalies.empty());
        const FoldResult second = tree.apply(more, 2);
        const bool reference = mode == FoldMode::ReferenceClient;
        CHECK(tree.kind(tree.find(u"n")) == (reference ? NodeKind::Double : NodeKind::Integer));
        CHECK(tree.kind(tree.find(u"l/1/n")) == (reference ? NodeKind::Double : NodeKind::Integer));
        CHECK(tree.kind(tree.find(u"l/2/n")) == NodeKind::Integer);
        CHECK(tree.lastChangedBy(tree.find(u"l/2/n")) == 1);
        CHECK(tree.lastChangedBy(tree.find(u"l/1/b")) == 2);
        CHECK(tree.toJson()
            == (reference ? QByteArray(R"({"n":9007199254740992,"b":true,"l":[{"n":-9007199254740996,"b":true},{"n":3}]})")
                          : QByteArray(R"({"n":9007199254740993,"b":true,"l":[{"n":-9007199254740995,"b":true,"#h":0},{"n":3,"#h":7}]})")));
        // A key tree.js never shows is reported in both modes; only the canonical fold keeps it.
        REQUIRE(second.anomalies.size() == 1);
        CHECK(second.anomalies.front().kind == AnomalyKind::ReferenceClientDiffers);
        CHECK(second.anomalies.front().path == QStringLiteral("l/2/#h"));
        CHECK((tree.find(u"l/2/#h") != kNoNode) == !reference);
        CHECK(second.changes.touched.size() == (reference ? 1u : 2u)); // b changed (and #h made)
        CHECK(checkTreeInvariants(tree).isEmpty());
    }
}

TEST_CASE("fold: values set to what they already hold are counted, on every path a value takes")
{
    // Object members (integers and bools in place, strings and doubles the general way), value and
    // record list elements, a one-member element delta: each unchanged value counts once, a changed
    // one never. A server sends changed fields only, so these give a re-sent snapshot away.
    const std::string start = R"({"n":1,"b":true,"s":"x","d":1.5,"v":{"0":4,"1":5,"@s":2},"l":{"1":{"a":1,"t":"y"},"@o":[1]}})";
    DocumentTree tree;
    CHECK(tree.apply(start, 0).unchangedValues == 0);
    CHECK(tree.apply(start, 1).unchangedValues == 8); // n b s d v/0 v/1 l/1/a l/1/t
    CHECK(tree.apply(R"({"l":{"1":{"a":1}}})", 2).unchangedValues == 1);
    CHECK(tree.apply(R"({"n":2,"b":false,"s":"z","d":2.5,"v":{"0":6},"l":{"1":{"a":3,"t":"w"}}})", 3).unchangedValues == 0);
    CHECK(tree.apply(R"({"n":2,"v":{"0":7},"x":null})", 4).unchangedValues == 1);
}

TEST_CASE("fold: new records are built alike in both modes, with each mode's numbers, touched and reported as before")
{
    // A new record of scalars, containers and nulls is built directly in both modes (ReferenceClient
    // mode reading integers beyond 2^53 as JavaScript's doubles); records with a hidden or repeated
    // key take the general path. Every new node is touched once and created by the delta.
    const std::string start = R"({"l":{"1":{"v":1},"@o":[1]}})";
    const std::string add = R"({"l":{"2":{"a":9007199254740993,"s":"a string too long to be inline","t":"short","b":true,"z":null,"d":1.5,"o":{"x":1},"r":[1,2]},)"
                            R"("3":{"p":-9007199254740995,"q":7,"u":18446744073709551615},"4":{"w":1,"#h":2},"5":{"w":1,"w":2},"6":{},"@o":[1,2,3,4,5,6]}})";
    for (const FoldMode mode : { FoldMode::Canonical, FoldMode::ReferenceClient }) {
        const bool reference = mode == FoldMode::ReferenceClient;
        INFO((reference ? "reference client" : "canonical"));
        DocumentTree tree(mode);
        REQUIRE(tree.apply(start, 0).parsed);
        const FoldResult result = tree.apply(add, 1);
        REQUIRE(result.parsed);
        CHECK(tree.kind(tree.find(u"l/2/a")) == (reference ? NodeKind::Double : NodeKind::Integer));
        CHECK(tree.kind(tree.find(u"l/3/p")) == (reference ? NodeKind::Double : NodeKind::Integer));
        if (reference) {
            CHECK(tree.doubleValue(tree.find(u"l/2/a")) == 9007199254740992.0);
            CHECK(tree.doubleValue(tree.find(u"l/3/p")) == -9007199254740996.0);
        } else {
            CHECK(tree.integerValue(tree.find(u"l/2/a")) == 9007199254740993);
            CHECK(tree.integerValue(tree.find(u"l/3/p")) == -9007199254740995);
        }
        CHECK(tree.kind(tree.find(u"l/3/q")) == NodeKind::Integer);
        CHECK(tree.kind(tree.find(u"l/3/u")) == NodeKind::Double);
        CHECK(tree.stringValue(tree.find(u"l/2/s")) == QStringLiteral("a string too long to be inline"));
        CHECK(tree.find(u"l/2/z") == kNoNode);
        CHECK(tree.kind(tree.find(u"l/2/o")) == NodeKind::Object);
        CHECK(tree.kind(tree.find(u"l/2/r")) == NodeKind::RawArray);
        CHECK((tree.find(u"l/4/#h") != kNoNode) == !reference);
        CHECK(tree.integerValue(tree.find(u"l/5/w")) == 2);
        CHECK(tree.childCount(tree.find(u"l/6")) == 0);
        // Touched: the list and every new node, a new raw array's items included, once each; all
        // created by this delta.
        std::vector<NodeId> made;
        const std::function<void(NodeId)> collect = [&](NodeId node) {
            made.push_back(node);
            for (int row = 0; row < tree.childCount(node); ++row)
                collect(tree.child(node, row));
        };
        for (int k = 2; k <= 6; ++k)
            collect(tree.find(QStringLiteral("l/%1").arg(k)));
        for (NodeId node : made)
            CHECK(tree.createdBy(node) == 1);
        std::set<NodeId> expected(made.begin(), made.end());
        expected.insert(tree.find(u"l"));
        CHECK(std::set<NodeId>(result.changes.touched.begin(), result.changes.touched.end()) == expected);
        CHECK(result.changes.touched.size() == expected.size());
        const auto count = [&](AnomalyKind kind) {
            return std::count_if(result.anomalies.begin(), result.anomalies.end(), [&](const Anomaly& a) { return a.kind == kind; });
        };
        CHECK(count(AnomalyKind::DuplicateKey) == 1);
        CHECK(count(AnomalyKind::ReferenceClientDiffers) == 1);
        CHECK(checkTreeInvariants(tree).isEmpty());
    }
}

TEST_CASE("fold: ReferenceClient mode keeps only the last of a repeated key in every object, however many keys")
{
    // Objects of distinct keys whose filter bits collide must keep every key; a repeated key,
    // short or long, in a small or a large object, keeps only its last value (JSON.parse).
    std::mt19937 rng(20261129);
    const auto below = [&](int n) { return int(rng() % unsigned(n)); };
    QStringList pool;
    for (int i = 0; i < 70; ++i)
        pool << (i % 3 == 0 ? QStringLiteral("a_long_key_beyond_inline_%1").arg(i) : QStringLiteral("k%1").arg(i));
    int repeats = 0;
    for (int round = 0; round < 400; ++round) {
        const int count = 2 + below(round % 4 == 0 ? 40 : 12);
        QByteArray text = "{\"o\":{";
        QJsonObject lastWins;
        for (int i = 0; i < count; ++i) {
            const QString key = pool.at(below(int(pool.size())));
            repeats += lastWins.contains(key);
            // Objects as values: merging an earlier occurrence would leave its member behind.
            const QString member = QStringLiteral("m%1").arg(i);
            text += (i ? "," : "") + QStringLiteral("\"%1\":{\"%2\":%3}").arg(key, member).arg(i).toUtf8();
            lastWins.insert(key, QJsonObject { { member, i } });
        }
        text += "}}";
        INFO("delta " << text.toStdString());
        const DocumentTree tree = folded({ text }, FoldMode::ReferenceClient);
        CHECK(sameJson(visible(tree), QJsonObject { { QStringLiteral("o"), lastWins } }));
    }
    CHECK(repeats > 300);
}

TEST_CASE("fold: ReferenceClient mode keeps tree.js's one hidden map per list whatever the markers say")
{
    // Each case: the stream, what tree.js (AdamaTree.copy()) shows after it, what the canonical fold shows.
    const ModesCase cases[] = {
        // @s then @o: the ids read the elements the @s list filed under "0".., and ranges its array.
        { "value list ordered by @o ids", { R"({"l":{"0":{"v":0},"@s":1}})", R"({"l":{"@o":[0]}})" }, R"({"l":[{"v":0}]})", R"({"l":[]})" },
        { "value list ordered by an @o range", { R"({"l":{"0":{"v":0},"@s":1}})", R"({"l":{"@o":[[0,0]]}})" }, R"({"l":[{"v":0}]})", R"({"l":[]})" },
        { "record list resized by @s", { R"({"l":{"0":{"v":0},"@o":[]}})", R"({"l":{"@s":1}})" }, R"({"l":[{"v":0}]})", R"({"l":[null]})" },
        // @s rebuilds from the element map before the delta's removals take effect.
        { "@s reads an element removed by the same delta", { R"({"l":{"0":{"v":0},"@s":1}})", R"({"l":{"0":null,"@s":1}})" }, R"({"l":[{"v":0}]})",
            R"({"l":[null]})" },
        // A prior raw array is the previous visible array that @o ranges copy from.
        { "@o range over a raw array", { R"({"l":[1,2]})", R"({"l":{"@o":[[0,1]]}})" }, R"({"l":[1,2]})", R"({"l":[]})" },
        { "@o range over a raw array skips falsy entries", { R"({"l":[0,"a",null,3]})", R"({"l":{"9":{"v":9},"@o":[[0,3],9]}})" },
            R"({"l":["a",3,{"v":9}]})", R"({"l":[{"v":9}]})" },
        // JSON.parse keeps only the last value of a repeated key; the canonical fold applies each in turn.
        { "a repeated key keeps only its last value", { R"({"a":{"x":1},"a":{"y":2}})" }, R"({"a":{"y":2}})", R"({"a":{"x":1,"y":2}})" },
        { "a repeated element key keeps only its last value", { R"({"l":{"1":{"v":1},"@o":[1],"1":null}})" }, R"({"l":[null]})", R"({"l":[]})" },
        // An array given as a list element is merged as an object keyed by index (into a scalar: nothing).
        { "a raw array as a new element", { R"({"l":{"1":[7,null,[8]],"@o":[1]}})" }, R"({"l":[{"0":7,"2":[8]}]})", R"({"l":[[7,null,[8]]]})" },
        { "a raw array into an object element", { R"({"l":{"1":{"v":1},"@o":[1]}})", R"({"l":{"1":[7,8]}})" }, R"({"l":[{"v":1,"0":7,"1":8}]})",
            R"({"l":[[7,8]]})" },
        { "a raw array into a scalar element", { R"({"l":{"0":1,"@s":1}})", R"({"l":{"0":[7,8],"@s":1}})" }, R"({"l":[1]})", R"({"l":[[7,8]]})" },
        // A list delta whose markers are null leaves the value shown as it was (absent: an empty list).
        { "@o null on an object", { R"({"m":{"x":1}})", R"({"m":{"@o":null,"1":5},"n":{"@s":null}})" }, R"({"m":{"x":1},"n":[]})",
            R"({"m":[],"n":[]})" },
        // copy(), what the reference client shows, drops its bookkeeping names at any depth.
        { "keys the reference client never shows", { R"({"#a":1,"__key":2,"@s":4,"b":{"#c":1,"d":[{"__key":1,"@o":2}]}})" },
            R"({"b":{"d":[{}]}})", R"({"#a":1,"__key":2,"@s":4,"b":{"#c":1,"d":[{"__key":1,"@o":2}]}})" },
    };
    // Both modes say what is odd about each stream.
    for (const ModesCase& c : cases)
        checkBothModes(c);

    // copy() also turns a null inside raw JSON into {} (a hole in a list stays null); only the
    // export shows it so: the node is still a null, and @o ranges still skip it as falsy.
    const DocumentTree raw = folded({ R"({"a":[null,{"b":null}],"l":{"@o":[3]}})" }, FoldMode::ReferenceClient);
    CHECK(sameJson(visible(raw), parseJson(R"({"a":[{},{"b":{}}],"l":[null]})")));
    CHECK(raw.kind(raw.find(u"a/0")) == NodeKind::Null);
    // Still {} once an object merged into that JSON made it a list's previous array (the client
    // keeps showing the array); an index or id the element map lacks is undefined there: null.
    const auto referenceShows = [](const QList<QByteArray>& deltas) { return visible(folded(deltas, FoldMode::ReferenceClient)); };
    CHECK(sameJson(referenceShows({ R"({"a":[null,1]})", R"({"a":{}})" }), parseJson(R"({"a":[{},1]})")));
    CHECK(sameJson(referenceShows({ R"({"a":[null,1]})", R"({"a":{"@s":2,"1":5}})" }), parseJson(R"({"a":[null,5]})")));
    CHECK(sameJson(referenceShows({ R"({"a":[null,1]})", R"({"a":{"@s":3}})" }), parseJson(R"({"a":[null,null,null]})")));
    CHECK(sameJson(referenceShows({ R"({"a":[null,1]})", R"({"a":{"@o":[[0,1],7]}})" }), parseJson(R"({"a":[1,null]})")));
    // JSON.stringify writes -0 as 0; the canonical export keeps the sign, as a double ("-0" would
    // read back as the integer 0).
    CHECK(folded({ R"({"z":-0.0})" }, FoldMode::ReferenceClient).toJson() == QByteArray(R"({"z":0})"));
    CHECK(folded({ R"({"z":-0.0})" }).toJson() == QByteArray(R"({"z":-0.0})"));
    CHECK(sameJson(visible(folded({ R"({"a":[null,{"b":null}]})" })), parseJson(R"({"a":[null,{"b":null}]})")));

    // tree.js keeps a list's element map beside its value ("#l") when the value stops being a list,
    // and a later list delta for the key reads the old elements again; removing the key deletes
    // the map only while the value is an array, and replacing the object that holds the key drops
    // it. Each expected text is what tree.js showed for the same deltas.
    const struct {
        QList<QByteArray> deltas;
        const char* shows;
    } keptMaps[] = {
        { { R"({"l":{"1":{"v":1},"@o":[1]}})", R"({"l":5})", R"({"l":{"@o":[1]}})" }, R"({"l":[{"v":1}]})" },
        { { R"({"l":{"1":{"v":1},"2":{"v":2},"@o":[1,2]}})", R"({"l":5})", R"({"l":null})", R"({"l":{"3":{"v":3},"@o":[2,3,1]}})" },
            R"({"l":[{"v":2},{"v":3},{"v":1}]})" },
        { { R"({"l":{"1":{"v":1},"@o":[1]}})", R"({"l":[7,8]})", R"({"l":{"@o":[1,[0,1]]}})" }, R"({"l":[{"v":1},7,8]})" },
        { { R"({"l":{"1":{"v":1},"@o":[1]}})", R"({"l":[7,8]})", R"({"l":null})", R"({"l":{"@o":[1]}})" }, R"({"l":[null]})" },
        { { R"({"l":{"1":{"v":1},"@o":[1]}})", R"({"l":"ab"})", R"({"l":{"1":{"w":2},"@o":[[0,1],1]}})" }, R"({"l":["a","b",{"v":1,"w":2}]})" },
        { { R"({"l":{"1":{"v":1},"@o":[1]}})", R"({"l":5})", R"({"l":{"x":1}})", R"({"l":{"@o":[1]}})" }, R"({"l":[{"v":1}]})" },
        { { R"({"p":{"l":{"1":{"v":1},"@o":[1]}}})", R"({"p":{"l":5}})", R"({"p":7})", R"({"p":{"l":{"@o":[1]}}})" }, R"({"p":{"l":[null]}})" },
        { { R"({"p":{"l":{"1":{"v":1},"@o":[1]}}})", R"({"p":{"l":5}})", R"({"p":null})", R"({"p":{"l":{"@o":[1]}}})" }, R"({"p":{"l":[null]}})" },
        { { R"({"l":{"0":"a","1":"b","@s":2}})", R"({"l":true})", R"({"l":{"@s":3}})" }, R"({"l":["a","b",null]})" },
        { { R"({"l":{"1":{"m":{"1":{"z":1},"@o":[1]}},"@o":[1]}})", R"({"l":{"1":{"m":4}}})", R"({"l":3})", R"({"l":{"@o":[1]}})",
              R"({"l":{"1":{"m":{"@o":[1]}}}})" },
            R"({"l":[{"m":[{"z":1}]}]})" },
        // The object holding the key freed, its slot taken by another object (a sibling made first).
        { { R"({"p":{"l":{"1":{"v":1},"@o":[1]}}})", R"({"p":{"l":5}})", R"({"p":null})", R"({"x":1,"p":{"l":{"@o":[1]}}})" },
            R"({"x":1,"p":{"l":[null]}})" },
        { { R"({"p":{"l":{"1":{"v":1},"@o":[1]}}})", R"({"p":{"l":5}})", R"({"p":null,"x":{"l":{"@o":[1]}}})" }, R"({"x":{"l":[null]}})" },
        // A list delta whose @o or @s is null files its elements into the kept map (made if none is)
        // and leaves the value shown as it was.
        { { R"({"l":{"1":{"v":1},"@o":[1]}})", R"({"l":5})", R"({"l":{"@o":null,"1":null}})", R"({"l":{"@o":[1]}})" }, R"({"l":[null]})" },
        { { R"({"l":{"1":{"v":1},"@o":[1]}})", R"({"l":5})", R"({"l":{"@s":null,"1":{"w":3}}})", R"({"l":{"@o":[1]}})" },
            R"({"l":[{"v":1,"w":3}]})" },
        { { R"({"l":5})", R"({"l":{"@o":null,"1":{"v":1}}})", R"({"l":{"@o":[1]}})" }, R"({"l":[{"v":1}]})" },
        { { R"({"l":[1,2]})", R"({"l":{"@o":null,"1":{"v":1}}})", R"({"l":{"@o":[1,[0,1]]}})" }, R"({"l":[{"v":1},1,2]})" },
        { { R"({"l":[1,2]})", R"({"l":{"@o":null,"1":{"v":1}}})", R"({"l":null})", R"({"l":{"@o":[1]}})" }, R"({"l":[null]})" },
        { { R"({"l":"ab"})", R"({"l":{"@s":null,"0":"z"}})", R"({"l":{"@s":2}})" }, R"({"l":["z",null]})" },
    };
    for (const auto& c : keptMaps) {
        INFO(c.deltas.join('\n').toStdString());
        std::vector<Anomaly> anomalies;
        const DocumentTree tree = folded(c.deltas, FoldMode::ReferenceClient, &anomalies);
        CHECK(tree.toJson() == QByteArray(c.shows));
        CHECK(checkTreeInvariants(tree).isEmpty());
    }
    {
        // A copy keeps its own: taking the map back in one tree leaves the other's kept.
        DocumentTree first(FoldMode::ReferenceClient);
        first.apply(R"({"l":{"1":{"v":1},"@o":[1]}})", 0);
        first.apply(R"({"l":5})", 1);
        DocumentTree second = first;
        const FoldResult back = first.apply(R"({"l":{"1":{"w":2},"@o":[1]}})", 2);
        CHECK(first.toJson() == QByteArray(R"({"l":[{"v":1,"w":2}]})"));
        CHECK(hasAnomaly(back.anomalies, AnomalyKind::ReferenceClientDiffers));
        second.apply(R"({"l":{"@o":[1]}})", 2);
        CHECK(second.toJson() == QByteArray(R"({"l":[{"v":1}]})"));
        // The canonical fold starts the list afresh: the id names no element (reported, not shown).
        std::vector<Anomaly> canonical;
        CHECK(folded({ R"({"l":{"1":{"v":1},"@o":[1]}})", R"({"l":5})", R"({"l":{"@o":[1]}})" }, FoldMode::Canonical, &canonical).toJson()
            == QByteArray(R"({"l":[]})"));
        CHECK(hasAnomaly(canonical, AnomalyKind::IdMissingFromElementMap));
    }

    {
        // Kept maps are freed when tree.js would delete them: the key removed while its value is an
        // array, the object holding the key replaced or removed (their kept maps with it), or the
        // list whose element held a kept map dropped. Afterwards the tree holds its visible nodes only.
        const QList<QByteArray> freedStreams[] = {
            { R"({"l":{"1":{"v":1},"@o":[1]}})", R"({"l":[7,8]})", R"({"l":null})" },
            { R"({"p":{"l":{"1":{"v":1},"@o":[1]}}})", R"({"p":{"l":5}})", R"({"p":null})" },
            { R"({"p":{"l":{"1":{"v":1},"@o":[1]}}})", R"({"p":{"l":5}})", R"({"p":7})" },
            { R"({"l":{"1":{"v":1},"@o":[1]}})", R"({"l":5})", R"({"l":{"@o":[1]}})", R"({"l":null})" },
            { R"({"l":{"1":{"v":1},"@o":[1]}})", R"({"l":5})", R"({"l":{"@o":null,"2":{"v":2}}})", R"({"l":[1]})", R"({"l":null})" },
            { R"({"l":{"1":{"m":{"1":{"z":1},"@o":[1]}},"@o":[1]}})", R"({"l":{"1":{"m":4}}})", R"({"l":3})", R"({"l":[1]})", R"({"l":null})" },
        };
        for (const QList<QByteArray>& stream : freedStreams) {
            INFO(stream.join('\n').toStdString());
            DocumentTree tree(FoldMode::ReferenceClient);
            bool keptOnTheWay = false;
            for (qsizetype i = 0; i < stream.size(); ++i) {
                tree.apply(std::string_view(stream[i].constData(), std::size_t(stream[i].size())), i);
                keptOnTheWay = keptOnTheWay || tree.heldNodeCount() > tree.nodeCount();
            }
            CHECK(keptOnTheWay);
            CHECK(tree.heldNodeCount() == tree.nodeCount());
        }
        // Nor does a change set name one: elements filed into a kept map are not touched nodes.
        {
            DocumentTree filing(FoldMode::ReferenceClient);
            filing.apply(R"({"l":5})", 0);
            const FoldResult filed = filing.apply(R"({"l":{"@o":null,"1":{"v":1}},"m":1})", 1);
            CHECK(filing.heldNodeCount() > filing.nodeCount());
            CHECK_FALSE(filed.changes.touched.empty());
            CHECK(std::all_of(filed.changes.touched.begin(), filed.changes.touched.end(), [&](NodeId id) { return filing.contains(id); }));
        }
        // A kept element is no node of the document until its map is taken back.
        DocumentTree keeping(FoldMode::ReferenceClient);
        keeping.apply(R"({"l":{"1":{"v":1},"@o":[1]}})", 0);
        const NodeId element = keeping.find(u"l/1");
        const NodeId member = keeping.find(u"l/1/v");
        keeping.apply(R"({"l":5})", 1);
        CHECK_FALSE(keeping.contains(element));
        CHECK_FALSE(keeping.contains(member));
        CHECK(keeping.contains(keeping.find(u"l")));
        keeping.apply(R"({"l":{"@o":[1]}})", 2);
        CHECK(keeping.contains(element));
        CHECK(keeping.contains(member));
        CHECK(keeping.find(u"l/1") == element);
        // A key that becomes a list again takes its map back: nothing is left aside.
        const DocumentTree adopted = folded({ R"({"l":{"1":{"v":1},"2":{"v":2},"@o":[1,2]}})", R"({"l":5})", R"({"l":{"@o":[2]}})" }, FoldMode::ReferenceClient);
        CHECK(adopted.toJson() == QByteArray(R"({"l":[{"v":2}]})"));
        CHECK(adopted.heldNodeCount() == adopted.nodeCount() + 2); // element 1 and its member, hidden in the list
        CHECK(adopted.hiddenElementCount(adopted.find(u"l")) == 1);
        // The canonical fold keeps nothing aside.
        const DocumentTree canonical = folded({ R"({"l":{"1":{"v":1},"@o":[1]}})", R"({"l":5})" });
        CHECK(canonical.heldNodeCount() == canonical.nodeCount());
        // An edit is no delta: a list the editing API replaces leaves no map aside, so a later
        // list delta for the key starts afresh, as in the canonical fold.
        DocumentTree edited = folded({ R"({"l":{"1":{"v":1},"@o":[1]}})" }, FoldMode::ReferenceClient);
        edited.setInteger(edited.root(), u"l", 5);
        CHECK(edited.heldNodeCount() == edited.nodeCount());
        edited.apply(R"({"l":{"@o":[1]}})", 1);
        CHECK(edited.toJson() == QByteArray(R"({"l":[null]})"));
        edited.setRecordList(edited.root(), u"m");
        edited.setElementObject(edited.find(u"m"), u"1");
        edited.setOrder(edited.find(u"m"), { QStringLiteral("1") });
        edited.setString(edited.root(), u"m", u"x");
        CHECK(edited.heldNodeCount() == edited.nodeCount());
        CHECK(checkTreeInvariants(edited).isEmpty());
    }

    {
        // An object delta for a scalar element: tree.js merges it into the scalar, which changes
        // nothing, unless a field holds an object: `key in scalar` then throws, and the browser
        // folds nothing more of that delta. Both modes say which.
        const auto says = [](const std::vector<Anomaly>& anomalies, const QString& text) {
            return std::any_of(anomalies.begin(), anomalies.end(),
                [&](const Anomaly& a) { return a.kind == AnomalyKind::ReferenceClientDiffers && a.message.contains(text); });
        };
        const QList<QByteArray> throwing { R"({"m":{"1":1,"@o":[1]}})", R"({"m":{"1":{"v":{"a":1}},"@o":[1]},"z":1})" };
        const QList<QByteArray> harmless { R"({"m":{"1":1,"@o":[1]}})", R"({"m":{"1":{"v":2,"w":[3]},"@o":[1]},"z":1})" };
        for (const FoldMode mode : { FoldMode::Canonical, FoldMode::ReferenceClient }) {
            std::vector<Anomaly> thrown, merged;
            folded(throwing, mode, &thrown);
            folded(harmless, mode, &merged);
            CHECK(says(thrown, QStringLiteral("throws a TypeError")));
            CHECK_FALSE(says(merged, QStringLiteral("throws a TypeError")));
            CHECK(says(merged, QStringLiteral("changes nothing")));
        }
        // The reference fold stops where tree.js threw: "z" comes after "m" and is not folded.
        CHECK(folded(throwing, FoldMode::ReferenceClient).toJson() == QByteArray(R"({"m":[1]})"));
    }

    // JavaScript numbers are doubles: integers beyond 2^53 show as the nearest one there.
    const QList<QByteArray> bigIntegers { R"({"n":9007199254740993,"m":-12345678901234567,"k":9007199254740992,"l":{"0":9007199254740995,"@s":1}})" };
    // (Compared as text: QJsonDocument would round both sides the same way.)
    CHECK(folded(bigIntegers, FoldMode::ReferenceClient).toJson()
        == QByteArray(R"({"n":9007199254740992,"m":-12345678901234568,"k":9007199254740992,"l":[9007199254740996]})"));
    CHECK(folded(bigIntegers).toJson() == QByteArray(R"({"n":9007199254740993,"m":-12345678901234567,"k":9007199254740992,"l":[9007199254740995]})"));

    // The list keeps working afterwards: a later @o reads the elements the relabelled list holds.
    DocumentTree tree(FoldMode::ReferenceClient);
    tree.apply(R"({"l":{"0":{"v":0},"1":{"v":1},"@s":2}})", 0);
    tree.apply(R"({"l":{"@o":[1,0]}})", 1);
    CHECK(tree.kind(tree.find(u"l")) == NodeKind::RecordList);
    tree.apply(R"({"l":{"0":{"v":5},"@o":[[0,1]]}})", 2);
    CHECK(sameJson(visible(tree), parseJson(R"({"l":[{"v":1},{"v":5}]})")));
    CHECK(checkTreeInvariants(tree).isEmpty());
}

TEST_CASE("fold: ReferenceClient mode stops where tree.js throws part-way through a delta")
{
    // tree.js folds a list delta in three phases (element keys: scalars stored, new element objects
    // made empty; then the order; then the merges and deletions it put off, in JavaScript's key
    // order: array indexes first). It throws a TypeError merging an object field into a scalar
    // element, or reading a null @o entry as a range, and then folds nothing more of the delta at
    // any level. Each expected text is what tree.js's copy() showed after the same deltas (keys of
    // objects compared as JSON, not by their order).
    const struct {
        QList<QByteArray> deltas;
        const char* shows;
    } cases[] = {
        // A null @o entry: element 2 made empty, 1 not deleted, the order and "z" not folded.
        { { R"({"l":{"1":{"v":1},"@o":[1]},"z":0})", R"({"l":{"2":{"v":2},"1":null,"@o":[null,2]},"z":1})" }, R"({"l":[{"v":1}],"z":0})" },
        // ... "z" came first, and the scalar element 3 is stored in the first phase.
        { { R"({"l":{"1":{"v":1},"@o":[1]},"z":0})", R"({"z":1,"l":{"3":5,"2":{"v":2},"1":null,"@o":[null,2]}})" }, R"({"l":[{"v":1}],"z":1})" },
        // ... on an object: it stays, its elements filed aside; on a missing key: an empty list.
        { { R"({"a":{"x":1}})", R"({"a":{"@o":[null]}})" }, R"({"a":{"x":1}})" },
        { { R"({})", R"({"a":{"1":{"v":1},"2":4,"@o":[null]},"b":1})" }, R"({"a":[]})" },
        // An object field merged into a scalar element: the rest of the delta is lost.
        { { R"({"a":{"0":true,"@o":[]}})", R"({"b":""})", R"({"a":{"0":{"m":{}}},"b":1})" }, R"({"a":[],"b":""})" },
        { { R"({"m":{"2":1,"@o":[]}})", R"({"a":[1]})", R"({"m":{"2":{"a":{}}},"a":{"@o":[]}})" }, R"({"m":[],"a":[1]})" },
        // The order is folded before the put-off merges; then 1 is merged (before 2 in key order),
        // 2 throws, 3 is not merged; 4 is new, so made empty; 0 names no element.
        { { R"({"l":{"1":{"v":1},"2":5,"3":{"w":1},"@o":[1,2,3]}})", R"({"l":{"3":{"w":2},"2":{"x":{}},"1":{"v":9},"4":{"n":1},"0":null,"@o":[4,3,2,1]},"q":1})" },
            R"({"l":[{},{"w":1},5,{"v":9}]})" },
        // Nested: the throw in a list inside an element; "9" (an array index) came before "p".
        { { R"({"p":{"1":{"l":{"1":3,"@o":[1]},"n":1},"@o":[1]}})",
              R"({"p":{"1":{"n":2,"l":{"1":{"x":{}},"2":7,"@o":[2,1]},"k":3},"2":{"a":1},"@o":[1,2]},"9":1,"b":2})" },
            R"({"9":1,"p":[{"l":[7,3],"n":2},{}]})" },
        // An array merged into a string element: its object item throws; key "5" came first.
        { { R"({"l":{"0":"s","@s":1}})", R"({"l":{"0":[{"a":1}],"@s":1},"5":1})" }, R"({"5":1,"l":["s"]})" },
        { { R"({"l":{"0":"s","1":{"k":1},"@s":2}})", R"({"l":{"1":[{"a":1}],"0":[{"a":1}],"@s":2}})" }, R"({"l":["s",{"k":1}]})" },
        // An element map kept aside is read as the list's: its object element throws nothing.
        { { R"({"l":{"1":{"v":1},"@o":[1]}})", R"({"l":5})", R"({"l":{"1":{"q":{}},"2":{"v":2},"@o":[2]},"z":1})" }, R"({"l":[{"v":2}],"z":1})" },
        // A null @o entry throws wherever the merge reaches it: in an object or an element tree.js
        // makes new, in place of a scalar, or in a new list.
        { { R"({"n":{"l":{"@o":[null],"0":{"a":1}}},"z":1})" }, R"({"n":{"l":[]}})" },
        { { R"({"m":5})", R"({"m":{"l":{"@o":[null]}},"z":1})" }, R"({"m":{"l":[]}})" },
        { { R"({"l":{"@o":["0"],"0":{"a":1}}})", R"({"l":{"@o":["0","1"],"1":{"s":{"@o":[null]}}},"z":1})" }, R"({"l":[{"a":1},{"s":[]}]})" },
        // On a scalar: the value stays, the elements are filed aside for a later list delta.
        { { R"({"l":5})", R"({"l":{"b":2,"c":{"x":3},"@o":["c",null]},"z":1})", R"({"l":{"@o":["b","c"]}})" }, R"({"l":[2,{}]})" },
        // JSON.parse keeps a repeated key's last value: {"a":1} merged into 5 changes nothing.
        { { R"({"l":{"@s":1,"0":5}})", R"({"l":{"0":{"a":{},"a":1}},"z":1})" }, R"({"l":[5],"z":1})" },
        // An array delta's items are keys to tree.js: item 0 throws, item 1 is not folded.
        { { R"({"0":{"@o":["k"],"k":5}})", R"([{"k":{"y":{}}},7])" }, R"({"0":[5]})" },
    };
    for (const auto& c : cases) {
        INFO(c.deltas.join('\n').toStdString());
        std::vector<Anomaly> anomalies;
        const DocumentTree tree = folded(c.deltas, FoldMode::ReferenceClient, &anomalies);
        CHECK(sameJson(visible(tree), parseJson(c.shows)));
        CHECK(checkTreeInvariants(tree).isEmpty());
    }
    // The throw is reported where it happens, in both modes.
    std::vector<Anomaly> reference, canonical;
    folded({ R"({"l":{"1":{"v":1},"@o":[1]}})", R"({"l":{"@o":[null]}})" }, FoldMode::ReferenceClient, &reference);
    folded({ R"({"l":{"1":{"v":1},"@o":[1]}})", R"({"l":{"@o":[null]}})" }, FoldMode::Canonical, &canonical);
    REQUIRE_FALSE(reference.empty());
    CHECK(std::any_of(reference.begin(), reference.end(), [](const Anomaly& a) {
        return a.kind == AnomalyKind::ReferenceClientDiffers && a.path == QStringLiteral("l") && a.message.contains(QStringLiteral("stops there too"));
    }));
    CHECK(hasAnomaly(canonical, AnomalyKind::BadListInstruction));
    CHECK(std::any_of(canonical.begin(), canonical.end(), [](const Anomaly& a) {
        return a.kind == AnomalyKind::ReferenceClientDiffers && a.message.contains(QStringLiteral("throws a TypeError"));
    }));
    // Below a new object the path goes on by key; nothing is said of the null @o the fold writes
    // to file a scalar's elements aside; the throw is reported after what the part's fold reported.
    std::vector<Anomaly> below, filed;
    folded({ R"({"n":{"l":{"@o":[null]}}})" }, FoldMode::ReferenceClient, &below);
    CHECK(std::any_of(below.begin(), below.end(), [](const Anomaly& a) { return a.kind == AnomalyKind::ReferenceClientDiffers && a.path == QStringLiteral("n/l"); }));
    folded({ R"({"l":5})", R"({"l":{"b":2,"@o":["b",null]}})" }, FoldMode::ReferenceClient, &filed);
    CHECK(filed.size() == 2);
    CHECK(std::none_of(filed.begin(), filed.end(), [](const Anomaly& a) { return a.message.contains(QStringLiteral("is null")) || a.message.contains(QStringLiteral("not an array")); }));
    std::vector<Anomaly> ordered;
    folded({ R"({"v":{"0":1,"@s":1}})", R"({"v":{"0":2},"l":{"@o":[null]}})" }, FoldMode::ReferenceClient, &ordered);
    REQUIRE(ordered.size() == 3);
    CHECK(ordered.front().kind == AnomalyKind::ValueListEditedWithoutSize);
    CHECK(ordered.back().kind == AnomalyKind::ReferenceClientDiffers);
    std::vector<Anomaly> arrayDelta;
    folded({ R"({"0":{"@o":["k"],"k":5}})", R"([{"k":{"y":{}}},7])" }, FoldMode::ReferenceClient, &arrayDelta);
    REQUIRE(arrayDelta.size() >= 2);
    CHECK(arrayDelta.front().message.contains(QStringLiteral("the delta is an array")));
    CHECK(arrayDelta.back().path == QStringLiteral("0/k"));
    std::vector<Anomaly> element;
    folded({ R"({"l":{"1":2,"@o":[1]}})", R"({"l":{"1":{"v":{}}}})" }, FoldMode::ReferenceClient, &element);
    CHECK(std::any_of(element.begin(), element.end(), [](const Anomaly& a) {
        return a.kind == AnomalyKind::ReferenceClientDiffers && a.path == QStringLiteral("l/1") && a.message.contains(QStringLiteral("throws a TypeError"));
    }));
}

namespace {

// A random delta object of a tiny key space, where lists, scalars and objects meet at the same keys:
// element deltas holding objects (some four deep, some not), null @o entries, nulls in other
// arrays. `depth`: the object's, the delta being at 1.
std::string randomDeltaValue(std::mt19937& rng, int depth);

std::string randomDeltaObject(std::mt19937& rng, int depth)
{
    const auto below = [&](int n) { return int(rng() % unsigned(n)); };
    static const char* const keys[] = { "0", "1", "2", "a", "l" };
    std::string out = "{";
    for (int i = 0, n = 1 + below(3); i < n; ++i)
        out += (i ? ",\"" : "\"") + std::string(keys[below(5)]) + "\":" + randomDeltaValue(rng, depth + 1);
    switch (below(5)) {
    case 0: {
        out += ",\"@o\":[";
        for (int i = 0, n = below(4); i < n; ++i)
            out += (i ? "," : "") + std::string(below(8) == 0 ? "null" : below(4) == 0 ? "[0,1]" : std::to_string(below(3)));
        out += "]";
        break;
    }
    case 1:
        out += ",\"@s\":" + std::to_string(below(3));
        break;
    default:
        break;
    }
    return out + "}";
}

std::string randomDeltaValue(std::mt19937& rng, int depth)
{
    const auto below = [&](int n) { return int(rng() % unsigned(n)); };
    const int pick = below(10);
    if (depth < 6 && pick < 4)
        return randomDeltaObject(rng, depth);
    if (pick == 4)
        return "null";
    if (pick == 5) {
        std::string out = "[";
        for (int i = 0, n = below(3); i < n; ++i)
            out += (i ? "," : "") + (below(3) == 0 ? std::string("null") : depth < 6 && below(2) == 0 ? randomDeltaObject(rng, depth + 1) : "1");
        return out + "]";
    }
    return pick == 6 ? std::string("\"s\"") : std::to_string(below(3));
}

} // namespace

TEST_CASE("fold: ReferenceClient mode skips the throw walk only for deltas whose shape rules a throw out")
{
    // tree.js throws only on an element delta holding an object (an object four deep in the delta)
    // or on a null @o entry (null in an array). The parse that finds both lets a fold skip the walk.
    const struct {
        const char* text;
        std::uint32_t depth; // of the delta within the text
        bool mayThrow;
    } shapes[] = {
        { R"({"l":{"1":{"v":1},"@o":[1,[0,2]]},"b":{"0":1,"@s":1}})", 1, false },
        { R"({"l":{"1":{"x":{}}}})", 1, true },
        { R"({"l":{"@o":[null]}})", 1, true },
        { R"({"l":{"1":null,"@o":[]}})", 1, false }, // null, but not in an array
        { R"([{"k":{"y":{}}},7])", 1, true },
        { R"([{"k":{"y":1}},7])", 1, false },
        { R"({"deliver":1,"response":{"delta":{"data":{"l":{"1":{"v":1}}},"seq":2}}})", 4, false },
        { R"({"deliver":1,"response":{"delta":{"data":{"l":{"1":{"v":{}}}},"seq":2}}})", 4, true },
    };
    for (const auto& shape : shapes) {
        INFO(shape.text);
        simdjson::dom::element root;
        detail::ParsedShape parsed;
        REQUIRE(detail::parseJson(shape.text, root, nullptr, &parsed));
        CHECK(parsed.known);
        CHECK(detail::referenceMayThrow(parsed, shape.depth) == shape.mayThrow);
    }
    // What simdjson parses (here: a number beyond 64 bits) tells nothing: the walk is made.
    simdjson::dom::element root;
    detail::ParsedShape parsed;
    REQUIRE(detail::parseJson(R"({"a":123456789012345678901234567890})", root, nullptr, &parsed));
    CHECK_FALSE(parsed.known);
    CHECK(detail::referenceMayThrow(parsed, 1));

    // Random streams fold alike with the screen (apply()) and with the walk made for every delta.
    std::mt19937 rng(20261130);
    int skipped = 0;
    int thrown = 0;
    for (int stream = 0; stream < 1500; ++stream) {
        DocumentTree screened(FoldMode::ReferenceClient);
        DocumentTree walked(FoldMode::ReferenceClient);
        for (qint64 event = 0; event < 8; ++event) {
            const std::string delta = rng() % 6 == 0 ? "[" + randomDeltaObject(rng, 2) + "," + randomDeltaValue(rng, 2) + "]" : randomDeltaObject(rng, 1);
            INFO("stream " << stream << ", delta " << event << ": " << delta);
            FoldResult viaScreen;
            screened.apply(delta, event, viaScreen);
            REQUIRE(viaScreen.parsed);
            simdjson::dom::element parsedDelta;
            detail::ParsedShape deltaShape;
            REQUIRE(detail::parseJson(delta, parsedDelta, nullptr, &deltaShape));
            skipped += !detail::referenceMayThrow(deltaShape, 1);
            FoldResult viaWalk;
            detail::foldParsed(walked, parsedDelta, event, viaWalk, DocumentTree::ChangeDetail::Full, true);
            thrown += std::any_of(viaWalk.anomalies.begin(), viaWalk.anomalies.end(), [](const Anomaly& a) { return a.message.contains(QStringLiteral("throws a TypeError")); });
            REQUIRE(screened.toJson() == walked.toJson());
            REQUIRE(viaScreen.anomalies.size() == viaWalk.anomalies.size());
            for (std::size_t i = 0; i < viaWalk.anomalies.size(); ++i) {
                CHECK(viaScreen.anomalies[i].kind == viaWalk.anomalies[i].kind);
                CHECK(viaScreen.anomalies[i].path == viaWalk.anomalies[i].path);
                CHECK(viaScreen.anomalies[i].message == viaWalk.anomalies[i].message);
            }
        }
    }
    // Both sides of the screen were exercised.
    CHECK(skipped > 2000);
    CHECK(thrown > 100);
}

TEST_CASE("fold: ReferenceClient mode reads odd @o and @s values as JavaScript does in tree.js")
{
    // Each case: the stream, what tree.js (AdamaTree.copy()) shows after it, what the canonical fold
    // shows, and whether the canonical fold reports anything.
    const ModesCase cases[] = {
        // @s: `for (k = 0; k < resize; k++)` counts the indexes below the value as JavaScript compares.
        { "@s 1.5 reads indexes 0 and 1", { R"({"l":{"0":1,"1":2,"@s":1.5}})" }, R"({"l":[1,2]})", R"({"l":[]})" },
        { "@s a numeric string", { R"({"l":{"0":1,"1":2,"@s":" 2 "}})" }, R"({"l":[1,2]})", R"({"l":[]})" },
        { "@s true is 1", { R"({"l":{"0":1,"@s":true}})" }, R"({"l":[1]})", R"({"l":[]})" },
        { "@s [2] is 2", { R"({"l":{"0":1,"1":2,"@s":[2]}})" }, R"({"l":[1,2]})", R"({"l":[]})" },
        { "@s not a number empties the list", { R"({"l":{"0":1,"@s":1}})", R"({"l":{"@s":"x"}})" }, R"({"l":[]})", R"({"l":[1]})" },
        { "@s negative empties the list", { R"({"l":{"0":1,"@s":1}})", R"({"l":{"@s":-1}})" }, R"({"l":[]})", R"({"l":[1]})" },
        // @o ids: the element map is indexed with the number's JavaScript text.
        { "@o fractional id", { R"({"l":{"1.5":{"v":1},"@o":[1.5]}})" }, R"({"l":[{"v":1}]})", R"({"l":[]})" },
        { "@o ids beyond 2^53 and 1e21", { R"({"l":{"9007199254740992":{"v":1},"1e+21":{"v":2},"@o":[9007199254740993,1e21]}})" },
            R"({"l":[{"v":1},{"v":2}]})", R"({"l":[]})" },
        // @o ranges: instr[0] and instr[1] of whatever the entry is, compared and indexed as JavaScript does.
        { "@o range with string bounds", { R"({"l":{"0":{"v":0},"1":{"v":1},"@o":[0,1]}})", R"({"l":{"@o":[["0","1"]]}})" },
            R"({"l":[{"v":0},{"v":1}]})", R"({"l":[]})" },
        { "@o range of three entries reads the first two", { R"({"l":{"0":{"v":0},"1":{"v":1},"@o":[0,1]}})", R"({"l":{"@o":[[0,1,5]]}})" },
            R"({"l":[{"v":0},{"v":1}]})", R"({"l":[]})" },
        // "2" <= "10" is false as strings; "1" <= "10" is true, and j++ makes j a number.
        { "@o range of two strings compares them as strings", { R"({"l":{"0":{"v":0},"1":{"v":1},"2":{"v":2},"@o":[0,1,2]}})",
            R"({"l":{"@o":[["1","10"],["2","10"]]}})" }, R"({"l":[{"v":1},{"v":2}]})", R"({"l":[]})" },
        { "@o objects, nulls, booleans and one-entry arrays as ranges",
            { R"({"l":{"0":{"v":0},"1":{"v":1},"@o":[0,1]}})", R"({"l":{"@o":[{"0":1,"1":1},[null,0],[true,1],[0]]}})" }, R"({"l":[{"v":1}]})",
            R"({"l":[]})" },
        // A non-array @o: tree.js loops over its length.
        { "@o a string: its characters are ids", { R"({"l":{"1":{"v":1},"2":{"v":2},"@o":"21"}})" }, R"({"l":[{"v":2},{"v":1}]})",
            R"({"l":[]})" },
        { "@o a number empties the list", { R"({"l":{"1":{"v":1},"@o":[1]}})", R"({"l":{"@o":5}})" }, R"({"l":[]})", R"({"l":[{"v":1}]})" },
        // A prior string or object stays the previous array that @o ranges read (before[j]).
        { "@o range over a string reads its characters", { R"({"l":"xyz"})", R"({"l":{"@o":[[0,2]]}})" }, R"({"l":["x","y","z"]})",
            R"({"l":[]})" },
        { "@o range over an object reads its members keyed by index", { R"({"l":{"0":"p","1":"q","x":"r"}})", R"({"l":{"@o":[[0,1]]}})" },
            R"({"l":["p","q"]})", R"({"l":[]})" },
        { "@o range over an object skips gaps and falsy members", { R"({"l":{"0":0,"2":"q","a":{"b":1}}})", R"({"l":{"@o":[[0,5],"9"],"9":{"v":9}}})" },
            R"({"l":["q",{"v":9}]})", R"({"l":[{"v":9}]})" },
        // tree.js merges a list element as an object: @o/@s in it are plain keys copy() drops. The
        // canonical fold takes them as a nested list, which the protocol allows: nothing to report.
        { "an element delta with @o", { R"({"l":{"1":{"@o":[2],"2":{"v":1}},"@o":[1]}})" }, R"({"l":[{"2":{"v":1}}]})", R"({"l":[[{"v":1}]]})",
            false },
        { "an element delta with @s", { R"({"l":{"0":{"0":"a","@s":1},"@s":1}})" }, R"({"l":[{"0":"a"}]})", R"({"l":[["a"]]})", false },
        { "an element delta with @s into an object element", { R"({"l":{"0":{"a":1},"@s":1}})", R"({"l":{"0":{"b":{"@o":[]},"@s":3}}})" },
            R"({"l":[{"a":1,"b":[]}]})", R"({"l":[[null,null,null]]})" },
    };
    for (const ModesCase& c : cases)
        checkBothModes(c);

    // Anomalies say where and what the reference client made of the value.
    std::vector<Anomaly> anomalies;
    folded({ R"({"l":{"0":{"v":0},"1":{"v":1},"@o":[0,1]}})", R"({"l":{"@o":[["0","1"]]},"m":{"0":1,"1":2,"@s":"2"}})" }, FoldMode::ReferenceClient, &anomalies);
    REQUIRE(anomalies.size() == 2);
    CHECK(anomalies[0].kind == AnomalyKind::BadListInstruction);
    CHECK(anomalies[0].path == u"l/@o");
    CHECK(anomalies[0].message.contains(u"positions 0..1"));
    CHECK(anomalies[1].path == u"m/@s");
    CHECK(anomalies[1].message.contains(u"rebuilds 2 element(s)"));
}

TEST_CASE("fold: ReferenceClient mode merges a delta that is not an object as tree.js's update() does")
{
    // `for (key in delta)`: an array's indexes, a string's character positions, nothing for null,
    // numbers and booleans. The canonical fold refuses all of them.
    struct Case {
        const char* name;
        QList<QByteArray> deltas;
        const char* reference;
    };
    const Case cases[] = {
        { "an array merges as an object keyed by index", { R"([1,{"a":2}])", R"({"x":1})" }, R"({"0":1,"1":{"a":2},"x":1})" },
        { "an array merges into what is there, null deleting", { R"({"0":{"q":1},"1":5})", R"([{"r":2},null])" }, R"({"0":{"q":1,"r":2}})" },
        { "a string sets one key per character", { R"("ab")" }, R"({"0":"a","1":"b"})" },
        { "null, a number and a boolean change nothing", { R"({"a":1})", "null", "5", "true" }, R"({"a":1})" },
    };
    for (const Case& c : cases) {
        INFO(c.name);
        std::vector<Anomaly> anomalies;
        const DocumentTree reference = folded(c.deltas, FoldMode::ReferenceClient, &anomalies);
        INFO("reference mode gave " << reference.toJson().toStdString());
        CHECK(sameJson(visible(reference), parseJson(c.reference)));
        CHECK(checkTreeInvariants(reference).isEmpty());
        CHECK(hasAnomaly(anomalies, AnomalyKind::ReferenceClientDiffers));
        CHECK_FALSE(hasAnomaly(anomalies, AnomalyKind::NotAnObject));
    }
    DocumentTree canonical;
    const FoldResult refused = canonical.apply("[1]");
    CHECK(refused.parsed);
    CHECK(hasAnomaly(refused.anomalies, AnomalyKind::NotAnObject));
    CHECK(canonical.toJson() == QByteArray("{}"));
}

TEST_CASE("fold: anomalies carry path and kind")
{
    DocumentTree tree;
    tree.apply(R"({"items":{"1":{"v":1},"2":{"v":2},"@o":[1,2]}})", 0);
    FoldResult result = tree.apply(R"({"items":{"@o":[[0,5],9]}})", 1);
    REQUIRE(result.parsed);
    REQUIRE(hasAnomaly(result.anomalies, AnomalyKind::RangeOutsidePreviousList));
    REQUIRE(hasAnomaly(result.anomalies, AnomalyKind::IdMissingFromElementMap));
    for (const Anomaly& a : result.anomalies) {
        CHECK(a.eventIndex == 1);
        CHECK(a.path.startsWith(QStringLiteral("items")));
    }
    CHECK(tree.toJson() == QByteArray(R"({"items":[{"v":1},{"v":2}]})"));

    result = tree.apply(R"({"items":{"1":{"v":3}},"x":{"y":1}})", 2);
    result = tree.apply(R"({"x":7})", 3);
    REQUIRE(hasAnomaly(result.anomalies, AnomalyKind::KindChanged));
    CHECK(result.anomalies.front().path == QStringLiteral("x"));
    CHECK(tree.toJson() == QByteArray(R"({"items":[{"v":3},{"v":2}],"x":7})"));
}

TEST_CASE("fold: the worked examples of adama-wire.md 6.6")
{
    DocumentTree tree;
    tree.apply(R"({"players":{"4":{"id":4,"name":"ann"},"7":{"id":7,"name":"bo"},"9":{"id":9,"name":"cy"},"@o":[4,7,9]}})", 10);
    tree.apply(R"({"players":{"12":{"id":12,"name":"di"},"@o":[12,[0,2]]}})", 11);
    CHECK(tree.toJson() == QByteArray(R"({"players":[{"id":12,"name":"di"},{"id":4,"name":"ann"},{"id":7,"name":"bo"},{"id":9,"name":"cy"}]})"));
    tree.apply(R"({"players":{"9":{"name":"cy2"},"@o":[12,4,9],"7":null}})", 12);
    CHECK(tree.toJson() == QByteArray(R"({"players":[{"id":12,"name":"di"},{"id":4,"name":"ann"},{"id":9,"name":"cy2"}]})"));
    tree.apply(R"({"players":{"@o":[9,12,4]}})", 13);
    CHECK(tree.order(tree.find(u"players")) == QStringList({ QStringLiteral("9"), QStringLiteral("12"), QStringLiteral("4") }));
    tree.apply(R"({"players":{"12":{"name":"dee"}}})", 14);
    CHECK(tree.stringValue(tree.find(u"players/12/name")) == QStringLiteral("dee"));
    CHECK(tree.lastChangedBy(tree.find(u"players/12/name")) == 14);
    CHECK(tree.lastChangedBy(tree.find(u"players/12")) == 14);
    CHECK(tree.lastChangedBy(tree.find(u"players/4")) == 10);
    CHECK(tree.createdBy(tree.find(u"players/12")) == 11);
    CHECK(tree.path(tree.find(u"players/12/name")) == QStringLiteral("players/12/name"));
    CHECK(tree.key(tree.find(u"players/12")) == QStringLiteral("12"));
    CHECK(tree.row(tree.find(u"players/12")) == 1);
}

TEST_CASE("encode: the worked examples of adama-wire.md 6.6 come out as an Adama server sends them")
{
    // Byte for byte, as the spec writes them: DRecordList writes changed elements in the new order,
    // then `@o`, then the removed ids; DList the changed indexes, the dropped ones, then `@s`.
    const DocumentTree empty;
    const DocumentTree a = fromText(R"({"players":{"4":{"id":4,"name":"ann"},"7":{"id":7,"name":"bo"},"9":{"id":9,"name":"cy"},"@o":[4,7,9]}})");
    CHECK(encodeDelta(empty, a) == QByteArray(R"({"players":{"4":{"id":4,"name":"ann"},"7":{"id":7,"name":"bo"},"9":{"id":9,"name":"cy"},"@o":[4,7,9]}})"));
    DocumentTree b = a;
    b.apply(R"({"players":{"12":{"id":12,"name":"di"},"@o":[12,[0,2]]}})");
    CHECK(encodeDelta(a, b) == QByteArray(R"({"players":{"12":{"id":12,"name":"di"},"@o":[12,[0,2]]}})"));
    DocumentTree c = b;
    c.apply(R"({"players":{"9":{"name":"cy2"},"@o":[12,4,9],"7":null}})");
    CHECK(encodeDelta(b, c) == QByteArray(R"({"players":{"9":{"name":"cy2"},"@o":[12,4,9],"7":null}})"));
    DocumentTree e = c;
    e.apply(R"({"players":{"12":{"name":"dee"}}})");
    CHECK(encodeDelta(c, e) == QByteArray(R"({"players":{"12":{"name":"dee"}}})"));
    CHECK(encodeDelta(e, e).isEmpty());

    const DocumentTree ten = fromText(R"({"items":{"1":{"v":1},"2":{"v":2},"3":{"v":3},"4":{"v":4},"5":{"v":5},"6":{"v":6},"7":{"v":7},"8":{"v":8},"9":{"v":9},"10":{"v":10},"@o":[1,2,3,4,5,6,7,8,9,10]}})");
    DocumentTree nine = ten;
    nine.apply(R"({"items":{"6":null,"@o":[1,2,3,4,5,7,8,9,10]}})");
    CHECK(encodeDelta(ten, nine) == QByteArray(R"({"items":{"@o":[[0,4],[6,9]],"6":null}})"));

    const DocumentTree s2 = fromText(R"({"scores":{"0":5,"1":7,"@s":2}})");
    DocumentTree s3 = s2;
    s3.apply(R"({"scores":{"2":9,"@s":3}})");
    CHECK(encodeDelta(s2, s3) == QByteArray(R"({"scores":{"2":9,"@s":3}})"));
    CHECK(encodeDelta(s3, s2) == QByteArray(R"({"scores":{"2":null,"@s":2}})"));
    DocumentTree edited = s2;
    edited.apply(R"({"scores":{"1":8}})");
    CHECK(encodeDelta(s2, edited) == QByteArray(R"({"scores":{"1":8}})"));
}

TEST_CASE("encode: a first snapshot leaves out empty lists and nulls")
{
    DocumentTree tree;
    tree.setRecordList(tree.root(), u"empty");
    tree.setValueList(tree.root(), u"none");
    tree.setNull(tree.root(), u"nothing");
    tree.setString(tree.root(), u"title", u"Demo");
    tree.setString(tree.root(), u"when", u"1718000000000");
    CHECK(tree.looksLikeLong(tree.find(u"when")));
    CHECK(encodeDelta(DocumentTree(), tree) == QByteArray(R"({"title":"Demo","when":"1718000000000"})"));
    CHECK(tree.toSnapshotDelta() == QByteArray(R"({"title":"Demo","when":"1718000000000"})"));

    // A list element that is an empty list is sent all the same: the order names it (found by
    // fuzz_fold; no Adama list holds lists, but a folded malformed stream can).
    DocumentTree nested;
    nested.apply(R"({"p":{"1":{"@o":[]},"@o":[1]},"v":{"0":{"@s":0},"@s":1}})", 0);
    REQUIRE(nested.toJson() == QByteArray(R"({"p":[[]],"v":[[]]})"));
    const QByteArray snapshot = nested.toSnapshotDelta();
    CHECK(snapshot == QByteArray(R"({"p":{"1":{"@o":[]},"@o":[1]},"v":{"0":{"@s":0},"@s":1}})"));
    DocumentTree rebuilt;
    rebuilt.apply(std::string_view(snapshot.constData(), std::size_t(snapshot.size())), 0);
    CHECK(rebuilt.toJson() == nested.toJson());
}

TEST_CASE("encode: a whole-number double keeps its fraction, as Java's Double.toString writes it")
{
    DocumentTree tree;
    tree.setDouble(tree.root(), u"price", 100.0);
    tree.setDouble(tree.root(), u"zero", 0.0);
    tree.setDouble(tree.root(), u"big", 1e21);
    tree.setDouble(tree.root(), u"half", 2.5);
    const QByteArray snapshot = tree.toSnapshotDelta();
    CHECK(snapshot == QByteArray(R"({"price":100.0,"zero":0.0,"big":1e+21,"half":2.5})"));
    // Read back, each is a double again, so the next encode finds nothing changed.
    DocumentTree viewer;
    REQUIRE(viewer.apply(std::string_view(snapshot.constData(), std::size_t(snapshot.size())), 0).parsed);
    for (const char16_t* key : { u"price", u"zero", u"big", u"half" })
        CHECK(viewer.kind(viewer.find(QStringView(key))) == NodeKind::Double);
    CHECK(encodeDelta(viewer, tree).isEmpty());
    CHECK(viewer.toJson() == QByteArray(R"({"price":100.0,"zero":0.0,"big":1e+21,"half":2.5})"));
    // The reference client's view writes numbers as JavaScript does.
    DocumentTree reference(FoldMode::ReferenceClient);
    REQUIRE(reference.apply(std::string_view(snapshot.constData(), std::size_t(snapshot.size())), 0).parsed);
    CHECK(reference.toJson() == QByteArray(R"({"price":100,"zero":0,"big":1e+21,"half":2.5})"));
}

TEST_CASE("encode: record ids a JavaScript number cannot hold exactly stay strings in @o")
{
    DocumentTree tree;
    tree.apply(R"({"m":{"9007199254740993":{"x":1},"9007199254740992":{"x":2},"12":{"x":3},"@o":["9007199254740993","9007199254740992","12"]}})", 0);
    // 2^53 itself is exact; one past it would be rounded by tree.js and find no element.
    CHECK(tree.toSnapshotDelta()
        == QByteArray(R"({"m":{"9007199254740993":{"x":1},"9007199254740992":{"x":2},"12":{"x":3},"@o":["9007199254740993",9007199254740992,12]}})"));
    DocumentTree reordered = tree;
    reordered.apply(R"({"m":{"@o":["12","9007199254740992","9007199254740993"]}})", 1);
    CHECK(encodeDelta(tree, reordered) == QByteArray(R"({"m":{"@o":[12,9007199254740992,"9007199254740993"]}})"));
}

TEST_CASE("encode: a list that becomes a list of the other kind is removed first, then sent whole")
{
    DocumentTree values;
    values.apply(R"({"s":{"0":{"x":1},"1":5,"@s":2}})", 0);
    DocumentTree records;
    records.apply(R"({"s":{"0":{"y":2},"@o":[0]}})", 0);
    for (const auto& [from, to] : { std::pair { &values, &records }, std::pair { &records, &values } }) {
        bool complete = true;
        CHECK(encodeDelta(*from, *to, &complete) == QByteArray(R"({"s":null})"));
        CHECK_FALSE(complete);
        // Merged into the old list in one delta, the old elements' fields would show through.
        DocumentTree viewer = *from;
        for (const QByteArray& delta : encodeDeltas(*from, *to)) {
            const FoldResult result = viewer.apply(std::string_view(delta.constData(), std::size_t(delta.size())), 1);
            CHECK(result.anomalies.empty());
        }
        CHECK(viewer.toJson() == to->toJson());
        CHECK(encodeDeltas(*from, *to).size() == 2);
    }
}

TEST_CASE("a string looks like a long only in canonical qint64 decimal form")
{
    DocumentTree tree;
    const auto looksLikeLong = [&](const char* text) {
        tree.apply(std::string(R"({"s":")") + text + R"("})", 1);
        return tree.looksLikeLong(tree.find(u"s"));
    };
    CHECK(looksLikeLong("0"));
    CHECK(looksLikeLong("7"));
    CHECK(looksLikeLong("-7"));
    CHECK(looksLikeLong("1718000000000"));
    CHECK(looksLikeLong("9223372036854775807"));
    CHECK(looksLikeLong("-9223372036854775808"));
    CHECK_FALSE(looksLikeLong("9223372036854775808")); // one past the largest
    CHECK_FALSE(looksLikeLong("-9223372036854775809"));
    CHECK_FALSE(looksLikeLong("10000000000000000000")); // twenty digits
    CHECK_FALSE(looksLikeLong(""));
    CHECK_FALSE(looksLikeLong("-"));
    CHECK_FALSE(looksLikeLong("-0"));
    CHECK_FALSE(looksLikeLong("007"));
    CHECK_FALSE(looksLikeLong("+7"));
    CHECK_FALSE(looksLikeLong("7 "));
    CHECK_FALSE(looksLikeLong("1e3"));
    CHECK_FALSE(looksLikeLong("12a"));
    CHECK_FALSE(looksLikeLong("agent7"));
    // Long runs of digits are checked eight characters at a time: one character that is not a
    // digit (bytes next to '0'..'9', and ones whose low half is a digit's) at every place of every
    // length.
    for (int length = 1; length <= 19; ++length) {
        const std::string digits = std::string("1234567890123456789").substr(0, std::size_t(length));
        INFO(digits);
        CHECK(looksLikeLong(digits.c_str()));
        CHECK(looksLikeLong(("-" + digits).c_str()) == (length < 19 || digits <= "9223372036854775808"));
        for (int at = 0; at < length; ++at) {
            for (char odd : { '/', ':', ';', '?', ' ', 'a', 'p', 'y', 'A', 'P', '\x7f', '\x01' }) {
                std::string text = digits;
                text[std::size_t(at)] = odd;
                std::string json;
                for (char c : text) {
                    if (c == '\x7f' || c == '\x01') {
                        char escaped[8];
                        std::snprintf(escaped, sizeof escaped, "\\u%04x", unsigned(c));
                        json += escaped;
                    } else {
                        json += c;
                    }
                }
                INFO(at << " " << int(odd));
                CHECK_FALSE(looksLikeLong(json.c_str()));
            }
        }
    }
}

TEST_CASE("encode: every vector's successive states round-trip through encode and fold")
{
    for (const DeltaVector& vector : loadDeltaVectors()) {
        INFO("vector " << vector.name.toStdString());
        DocumentTree previous;
        DocumentTree current;
        for (const QByteArray& delta : vector.deltas) {
            current.apply(std::string_view(delta.constData(), std::size_t(delta.size())));
            const QByteArray encoded = encodeDelta(previous, current);
            INFO("encoded " << encoded.toStdString());
            DocumentTree replay = previous;
            if (!encoded.isEmpty())
                REQUIRE(replay.apply(std::string_view(encoded.constData(), std::size_t(encoded.size()))).parsed);
            CHECK(sameJson(visible(replay), visible(current)));
            previous = current;
        }
    }
}

TEST_CASE("copies are independent and cheap to take")
{
    DocumentTree a;
    a.apply(R"({"items":{"1":{"v":1},"2":{"v":2},"@o":[1,2]},"t":"x"})", 1);
    const NodeId item = a.find(u"items/1");
    DocumentTree b = a;
    CHECK(b.find(u"items/1") == item); // ids survive copies
    b.apply(R"({"items":{"1":{"v":9},"3":{"v":3},"@o":[3,1,2]},"t":null})", 2);
    CHECK(a.toJson() == QByteArray(R"({"items":[{"v":1},{"v":2}],"t":"x"})"));
    CHECK(b.toJson() == QByteArray(R"({"items":[{"v":3},{"v":9},{"v":2}]})"));
    a.apply(R"({"u":1})", 3);
    CHECK(b.toJson() == QByteArray(R"({"items":[{"v":3},{"v":9},{"v":2}]})"));
    CHECK(checkTreeInvariants(a).isEmpty());
    CHECK(checkTreeInvariants(b).isEmpty());
}

namespace {

// What a fold reports about the nodes below `under`: the touched ones in order (as paths, `under`
// itself left out), and each one's creating event.
struct FoldReport {
    QStringList touched;
    QStringList created;
    QStringList anomalies;
};

FoldReport reportBelow(const DocumentTree& tree, const FoldResult& result, const QString& under)
{
    FoldReport report;
    for (NodeId id : result.changes.touched) {
        const QString path = tree.path(id);
        if (path.startsWith(under + QLatin1Char('/'))) {
            report.touched << path;
            report.created << path + QLatin1Char('@') + QString::number(tree.createdBy(id));
        }
    }
    for (const Anomaly& a : result.anomalies)
        report.anomalies << QString::number(int(a.kind)) + QLatin1Char(' ') + a.path;
    return report;
}

// Every visible node at and below `node`: path, kind, row, value, provenance and history.
QStringList describeSubtree(const DocumentTree& tree, NodeId node)
{
    const ProvenanceHistory history = tree.history(node);
    QString line = tree.path(node) + QStringLiteral(" %1 row %2 created %3 changed %4 long %5 history %6:")
                                         .arg(nodeKindName(tree.kind(node)))
                                         .arg(tree.row(node))
                                         .arg(tree.createdBy(node))
                                         .arg(tree.lastChangedBy(node))
                                         .arg(tree.looksLikeLong(node))
                                         .arg(history.totalCount);
    for (qint64 event : history.recentEvents)
        line += QLatin1Char(' ') + QString::number(event);
    QStringList lines { line + QLatin1Char(' ') + QString::fromUtf8(tree.toJson(node, false)) };
    for (int row = 0; row < tree.childCount(node); ++row)
        lines += describeSubtree(tree, tree.child(node, row));
    return lines;
}

}

TEST_CASE("fold: a new object's members come out as if merged one by one into an empty object")
{
    // A new object is built whole (no lookups, no per-member climb); an existing one merges member
    // by member. Both must give the same members, rows, change set, provenance and anomalies.
    const char* bodies[] = {
        R"({})",
        R"({"a":1,"b":null,"c":"a string longer than seven bytes","a_long_key":true,"i":2.5,"s":"short"})",
        R"({"d":{"e":[1,{"f":2},null],"g":{"@o":[1],"1":{"h":3}},"v":{"@s":2,"0":"x","1":"y"}}})",
        R"({"c":null,"c":2})",
        R"({"c":2,"c":null})",
        R"({"x":{"y":1},"k":0,"x":{"z":2}})",
        R"({"#hidden":1,"k":2,"__key":3})",
        R"({"m0":0,"m1":1,"m2":2,"m3":3,"m4":4,"m5":5,"m6":6,"m7":7,"m8":8})",
        R"({"n":{"o":{"p":{"q":{"r":"deep"}}}},"z":null})",
        // Scalars only (a new record such as a chat line): members made whole, at once.
        R"({"who":"agent16","what":"message 100 with some text","when":"1718000010000"})",
        R"({"a":null,"b":"x"})",
        R"({"a":1,"b":false})",
        R"({"a":null,"b":null,"c":null})",
        R"({"n":-0.0,"d":1e300,"u":18446744073709551615,"z":null,"t":true,"l":"-9223372036854775808","e":""})",
        R"({"a_key_longer_than_seven":"9223372036854775808","k":"007"})",
        // Strings read straight from the parsed delta: the looks-like-long test at its first
        // character, and texts at the edges of the inline form and of the string blocks.
        R"({"p":"-7","q":"-","r":"-0","s":"0","t":"9","u":"/","v":":","w":"-x"})",
        R"({"s7":"0123456","s8":"01234567","s16":"0123456789abcdef","s17":"0123456789abcdefg"})",
        R"({"s32":"0123456789abcdef0123456789abcdef","s33":"0123456789abcdef0123456789abcdefg","esc":"tab\tquote\"\u00e9\u0000x"})",
        R"({"b":false,"i":-42,"d":-1.5e-7,"m":-9223372036854775808})",
    };
    // Events beyond 32 bits give every new node a history at once.
    const qint64 events[] = { 1, (qint64(1) << 33) + 1 };
    for (const char* body : bodies) {
        INFO(body);
        const QByteArray text(body);
        // A list element under a short key and under one too long to be inline.
        const QString paths[] = { QStringLiteral("o"), QStringLiteral("l/1"), QStringLiteral("l/element-key") };
        for (const QString& under : paths) {
            INFO(under.toStdString());
            for (qint64 event : events) {
                INFO(event);
                const bool element = under.startsWith(QLatin1String("l/"));
                const QByteArray id = under.mid(2).toUtf8();
                const QByteArray order = id == "1" ? QByteArray("1") : QByteArray("\"" + id + "\"");
                const QByteArray whole = element ? QByteArray(R"({"l":{")" + id + R"(":)" + text + R"(,"@o":[)" + order + "]}}") : QByteArray(R"({"o":)" + text + "}");
                const QByteArray empty = element ? QByteArray(R"({"l":{")" + id + R"(":{},"@o":[)" + order + "]}}") : QByteArray(R"({"o":{}})");
                const QByteArray merge = element ? QByteArray(R"({"l":{")" + id + R"(":)" + text + "}}") : QByteArray(R"({"o":)" + text + "}");

                DocumentTree built;
                built.apply(R"({"t":0})", 0);
                const FoldResult builtResult = built.apply(std::string_view(whole.constData(), std::size_t(whole.size())), event);
                DocumentTree merged;
                merged.apply(std::string_view(empty.constData(), std::size_t(empty.size())), 0);
                const FoldResult mergedResult = merged.apply(std::string_view(merge.constData(), std::size_t(merge.size())), event);

                CHECK(built.toJson(built.find(under), false) == merged.toJson(merged.find(under), false));
                const FoldReport b = reportBelow(built, builtResult, under);
                const FoldReport m = reportBelow(merged, mergedResult, under);
                CHECK(b.touched == m.touched);
                CHECK(b.created == m.created);
                CHECK(b.anomalies == m.anomalies);
                // Below the object itself (which the two trees made at different events).
                QStringList builtNodes = describeSubtree(built, built.find(under));
                QStringList mergedNodes = describeSubtree(merged, merged.find(under));
                builtNodes.removeFirst();
                mergedNodes.removeFirst();
                CHECK(builtNodes == mergedNodes);
                CHECK(checkTreeInvariants(built).isEmpty());
                // The touched marks are cleared: the next delta reports only what it changes.
                const FoldResult next = built.apply(R"({"t":1})", event + 1);
                REQUIRE(next.changes.touched.size() == 1);
                CHECK(next.changes.touched.front() == built.find(u"t"));
                // A copy made now is not changed by what the tree folds next.
                const DocumentTree copy = built;
                const QStringList before = describeSubtree(copy, copy.find(under));
                built.apply(R"({"o":{"a":7,"who":null},"l":{"1":{"a":7,"who":null},"element-key":{"a":7,"who":null}}})", event + 2);
                CHECK(describeSubtree(copy, copy.find(under)) == before);
                CHECK(checkTreeInvariants(built).isEmpty());
            }
        }
    }
}

TEST_CASE("small objects: members kept in the node grow, shrink and copy exactly")
{
    // Objects of up to two members hold them in the node itself; the third moves them out.
    DocumentTree a;
    a.apply(R"({"o":{"x":1}})", 1);
    const DocumentTree one = a;
    a.apply(R"({"o":{"y":2}})", 2);
    const DocumentTree two = a;
    a.apply(R"({"o":{"z":3}})", 3);
    CHECK(a.toJson() == QByteArray(R"({"o":{"x":1,"y":2,"z":3}})"));
    a.apply(R"({"o":{"x":null}})", 4);
    a.apply(R"({"o":{"y":null,"z":null}})", 5);
    a.apply(R"({"o":{"w":{"k":1}}})", 6);
    CHECK(a.toJson() == QByteArray(R"({"o":{"w":{"k":1}}})"));
    CHECK(one.toJson() == QByteArray(R"({"o":{"x":1}})"));
    CHECK(two.toJson() == QByteArray(R"({"o":{"x":1,"y":2}})"));

    // Removing the first of two moves the second to row 0; a new member comes after it.
    DocumentTree b = two;
    b.apply(R"({"o":{"x":null}})", 7);
    CHECK(b.row(b.find(u"o/y")) == 0);
    b.apply(R"({"o":{"x":5}})", 8);
    CHECK(b.toJson() == QByteArray(R"({"o":{"y":2,"x":5}})"));
    CHECK(b.row(b.find(u"o/x")) == 1);
    CHECK(b.child(b.find(u"o"), 1) == b.find(u"o/x"));
    CHECK(two.toJson() == QByteArray(R"({"o":{"x":1,"y":2}})"));

    // The editing API and a kind change take the same paths.
    DocumentTree c = one;
    const NodeId o = c.find(u"o");
    c.setInteger(o, u"y", 7);
    c.setInteger(o, u"z", 8);
    c.remove(o, u"y");
    CHECK(c.toJson() == QByteArray(R"({"o":{"x":1,"z":8}})"));
    c.apply(R"({"o":[1,2]})", 9);
    c.apply(R"({"o":{"a":true}})", 10);
    CHECK(c.toJson() == QByteArray(R"({"o":{"a":true}})"));
    CHECK(one.toJson() == QByteArray(R"({"o":{"x":1}})"));
    for (const DocumentTree* tree : std::initializer_list<const DocumentTree*> { &a, &one, &two, &b, &c })
        CHECK(checkTreeInvariants(*tree).isEmpty());
}

namespace {

// Random object-heavy deltas over a few keys, so objects keep crossing the two-member limit of
// FlagInlineMembers both ways, change kind, and hold lists and raw arrays.
class SmallObjectDeltas
{
public:
    explicit SmallObjectDeltas(quint64 seed)
        : m_rng(seed)
    {
    }
    int below(int n) { return n <= 1 ? 0 : int(m_rng() % quint64(n)); }
    std::string object(int depth, int maxKeys)
    {
        static const char* keys[] = { "a", "b", "c", "d", "longer_key_x" };
        std::string s = "{";
        for (int i = below(maxKeys + 1); i > 0; --i) {
            if (s.size() > 1)
                s += ',';
            s += std::string("\"") + keys[below(5)] + "\":" + value(depth + 1);
        }
        return s + "}";
    }
    std::string value(int depth)
    {
        switch (below(depth > 3 ? 4 : 10)) {
        case 0:
        case 1:
            return "null";
        case 2:
            return std::to_string(below(5));
        case 3:
            return "\"s\"";
        case 7:
            return below(2) ? "[1,{\"a\":1,\"b\":{\"c\":2}},[3]]" : "[]";
        case 8: { // a record list
            std::string s = "{\"@o\":[";
            for (int i = 1, n = 0; i <= 4; ++i)
                if (below(2))
                    s += (n++ ? "," : "") + std::to_string(i);
            s += "]";
            for (int i = 1; i <= 4; ++i)
                if (below(2))
                    s += ",\"" + std::to_string(i) + "\":" + (below(4) ? object(depth + 1, 3) : "null");
            return s + "}";
        }
        case 9: { // a value list
            const int size = below(4);
            std::string s = "{\"@s\":" + std::to_string(size);
            for (int i = 0; i < size; ++i)
                if (below(2))
                    s += ",\"" + std::to_string(i) + "\":" + (below(2) ? object(depth + 1, 3) : std::to_string(i));
            return s + "}";
        }
        default:
            return object(depth, 4);
        }
    }

private:
    std::mt19937_64 m_rng;
};

}

TEST_CASE("small objects: tree copies stay independent and equal to a replay without copies")
{
    // Lineages of copies that all keep changing: each must equal the same deltas folded into a tree
    // that was never copied (members kept in a node must never be written through another copy).
    for (quint64 seed = 1; seed <= 40; ++seed) {
        SmallObjectDeltas gen(seed);
        const FoldMode mode = seed % 3 == 0 ? FoldMode::ReferenceClient : FoldMode::Canonical;
        struct Lineage {
            DocumentTree tree;
            std::vector<std::string> deltas;
        };
        std::vector<Lineage> lineages;
        lineages.push_back({ DocumentTree(mode), {} });
        for (int step = 0; step < 150; ++step) {
            const std::size_t li = std::size_t(gen.below(int(lineages.size())));
            const int action = gen.below(100);
            if (action < 15 && lineages.size() < 8) {
                Lineage copy = lineages[li];
                lineages.push_back(std::move(copy));
                continue;
            }
            if (action < 20 && lineages.size() > 1) {
                lineages.erase(lineages.begin() + std::ptrdiff_t(li));
                continue;
            }
            Lineage& l = lineages[li];
            l.deltas.push_back(gen.object(0, 4));
            REQUIRE(l.tree.apply(l.deltas.back(), qint64(l.deltas.size())).parsed);
        }
        for (const Lineage& l : lineages) {
            DocumentTree fresh(mode);
            for (std::size_t i = 0; i < l.deltas.size(); ++i)
                fresh.apply(l.deltas[i], qint64(i + 1));
            INFO("seed " << seed);
            REQUIRE(l.tree.toJson() == fresh.toJson());
            REQUIRE(checkTreeInvariants(l.tree).isEmpty());
            // The encoder and the diff across copies (shared and unshared small objects). Arbitrary
            // pairs need not round-trip exactly (a list cannot become an object in one delta, empty
            // lists are not sent), so only the folded result's bookkeeping is checked here.
            const QByteArray delta = encodeDelta(lineages.front().tree, l.tree);
            DocumentTree viewer = lineages.front().tree;
            if (!delta.isEmpty())
                REQUIRE(viewer.apply(std::string_view(delta.constData(), std::size_t(delta.size()))).parsed);
            REQUIRE(checkTreeInvariants(viewer).isEmpty());
            (void)diffTrees(lineages.front().tree, l.tree);
        }
    }
}

TEST_CASE("small objects: a copy keeps its two members while the other tree outgrows and empties the object")
{
    DocumentTree a;
    a.apply(R"({"o":{"x":1,"y":{"k":1}}})", 1);
    DocumentTree b = a;
    a.apply(R"({"o":{"z":3}})", 2); // a's o now has a Container
    b.apply(R"({"o":{"x":null}})", 3); // b's o keeps y alone, in the node
    a.apply(R"({"o":{"x":null,"y":null,"z":null}})", 4);
    b.apply(R"({"o":{"y":{"k":2},"w":5}})", 5);
    CHECK(a.toJson() == QByteArray(R"({"o":{}})"));
    CHECK(b.toJson() == QByteArray(R"({"o":{"y":{"k":2},"w":5}})"));
    CHECK(b.row(b.find(u"o/w")) == 1);
    const QByteArray delta = encodeDelta(a, b);
    DocumentTree viewer = a;
    viewer.apply(std::string_view(delta.constData(), std::size_t(delta.size())));
    CHECK(viewer.toJson() == b.toJson());
    CHECK(encodeDelta(viewer, b).isEmpty());
    CHECK(diffTrees(b, viewer).isEmpty());
    for (const DocumentTree* tree : std::initializer_list<const DocumentTree*> { &a, &b, &viewer })
        CHECK(checkTreeInvariants(*tree).isEmpty());
}

namespace {
// Records the nodes a listener is told changed value.
struct ValueChanges : DocumentListener {
    std::vector<NodeId> nodes;
    void aboutToInsert(NodeId, int, int) override { }
    void inserted(NodeId, int, int) override { }
    void aboutToRemove(NodeId, int, int) override { }
    void removed(NodeId, int, int) override { }
    void aboutToMove(NodeId, int, int, int) override { }
    void moved(NodeId, int, int, int) override { }
    void valueChanged(NodeId node) override { nodes.push_back(node); }
    void aboutToReset() override { }
    void reset() override { }
};

std::vector<NodeId> valueChangedNodes(const FoldResult& result)
{
    std::vector<NodeId> nodes;
    for (const TreeChange& change : result.changes.changes) {
        if (change.type == TreeChange::Type::ValueChanged)
            nodes.push_back(change.node);
    }
    return nodes;
}
}

// Integers onto integers and bools onto bools are stored in place, apart from the general scalar
// path: they must report exactly what it reports.
TEST_CASE("fold: a scalar edited in place reports the node, its provenance and the stale value list")
{
    for (const bool withListener : { false, true }) {
        INFO("listener " << withListener);
        DocumentTree tree;
        ValueChanges listener;
        if (withListener)
            tree.addListener(&listener);
        // Slots freed first, so the nodes below reuse them: their ids carry a generation.
        REQUIRE(tree.apply(R"({"tmp":{"a":1,"b":2,"c":3,"d":4,"e":5,"f":6,"g":7,"h":8,"i":9,"j":10}})", 0).parsed);
        REQUIRE(tree.apply(R"({"tmp":null})", 0).parsed);
        REQUIRE(tree.apply(R"({"p":{"1":{"score":1,"ready":false},"@o":[1]},"board":{"0":5,"1":6,"@s":2}})", 0).parsed);
        const NodeId element = tree.find(u"p/1");
        const NodeId score = tree.find(u"p/1/score");
        const NodeId ready = tree.find(u"p/1/ready");
        const NodeId cell = tree.find(u"board/1");
        REQUIRE((element != kNoNode && score != kNoNode && ready != kNoNode && cell != kNoNode));
        CHECK((score >> 32) != 0);

        FoldResult result = tree.apply(R"({"p":{"1":{"score":9,"ready":true}},"board":{"1":7}})", 1);
        REQUIRE(result.parsed);
        CHECK(tree.toJson() == QByteArray(R"({"p":[{"score":9,"ready":true}],"board":[5,7]})"));
        CHECK(valueChangedNodes(result) == std::vector<NodeId> { score, ready, cell });
        if (withListener)
            CHECK(listener.nodes == std::vector<NodeId> { score, ready, cell });
        for (NodeId node : { score, ready, cell })
            CHECK(std::count(result.changes.touched.begin(), result.changes.touched.end(), node) == 1);
        for (NodeId node : { score, ready, element, tree.find(u"p"), cell, tree.find(u"board"), tree.root()})
            CHECK(tree.lastChangedBy(node) == 1);
        CHECK(tree.lastChangedBy(tree.find(u"board/0")) == 0);
        // The value list was edited without @s: the reference client keeps showing 6.
        REQUIRE(result.anomalies.size() == 1);
        CHECK(result.anomalies.front().kind == AnomalyKind::ValueListEditedWithoutSize);
        CHECK(result.anomalies.front().path == QStringLiteral("board"));

        // The same values again change nothing, report nothing and leave provenance as it was.
        listener.nodes.clear();
        result = tree.apply(R"({"p":{"1":{"score":9,"ready":true}},"board":{"1":7}})", 2);
        CHECK(result.changes.changes.empty());
        CHECK(result.changes.touched.empty());
        CHECK(result.anomalies.empty());
        CHECK(listener.nodes.empty());
        CHECK(tree.lastChangedBy(score) == 1);
        CHECK(tree.lastChangedBy(tree.root()) == 1);

        // A change of kind still takes the general path: an integer becomes a string, a bool an integer.
        result = tree.apply(R"({"p":{"1":{"score":"9","ready":1}}})", 3);
        CHECK(tree.toJson() == QByteArray(R"({"p":[{"score":"9","ready":1}],"board":[5,7]})"));
        CHECK(valueChangedNodes(result) == std::vector<NodeId> { score, ready });
        CHECK(tree.lastChangedBy(score) == 3);
        if (withListener)
            tree.removeListener(&listener);
    }
}

// A node touched and then freed by the same delta must not be reported; a node that reuses its
// slot later in the delta is reported once, under its own id.
TEST_CASE("fold: the touched list leaves out freed nodes and names a reused slot's new node once")
{
    DocumentTree tree;
    REQUIRE(tree.apply(R"({"l":{"1":{"v":1,"w":2},"2":{"v":3},"@o":[1,2]}})", 0).parsed);
    const NodeId oldElement = tree.find(u"l/1");
    const NodeId oldV = tree.find(u"l/1/v");
    REQUIRE((oldElement != kNoNode && oldV != kNoNode));
    // Element 1 is changed, then removed (its key given twice); "z" is built after the list, from
    // the slots element 1 gave back.
    const FoldResult result = tree.apply(R"({"l":{"1":{"v":9},"1":null,"@o":[2]},"z":{"a":1,"b":2,"c":3}})", 1);
    REQUIRE(result.parsed);
    CHECK(tree.toJson() == QByteArray(R"({"l":[{"v":3}],"z":{"a":1,"b":2,"c":3}})"));
    const std::vector<NodeId>& touched = result.changes.touched;
    for (NodeId id : touched)
        CHECK(tree.contains(id));
    CHECK(std::set<NodeId>(touched.begin(), touched.end()).size() == touched.size());
    CHECK(std::count(touched.begin(), touched.end(), oldElement) == 0);
    CHECK(std::count(touched.begin(), touched.end(), oldV) == 0);
    for (const char16_t* path : { u"z", u"z/a", u"z/b", u"z/c", u"l" })
        CHECK(std::count(touched.begin(), touched.end(), tree.find(QStringView(path))) == 1);
    // The new nodes did take the freed slots: their ids differ from the old ones only by generation.
    std::set<quint32> freedSlots { quint32(oldElement), quint32(oldV) };
    int reused = 0;
    for (const char16_t* path : { u"z", u"z/a", u"z/b", u"z/c" })
        reused += int(freedSlots.count(quint32(tree.find(QStringView(path)))));
    CHECK(reused > 0);
}

TEST_CASE("fold: a member is found by its key in every shape of container")
{
    // Lookups by an inline key (up to seven bytes) and by a longer one take different paths, as do
    // objects keeping their members in the node, containers with and without a member index, and
    // value lists (tried at the key's position first when they have no index). Keys come and go,
    // leaving index tombstones.
    std::mt19937_64 rng(7);
    const auto keyOf = [](int i, bool isLong, bool valueList) {
        if (valueList)
            return QString::number(i);
        return isLong ? QStringLiteral("a key longer than seven bytes %1").arg(i) : QStringLiteral("k%1").arg(i);
    };
    for (const char* shape : { "object", "record", "value" }) {
        INFO(shape);
        const bool valueList = std::string_view(shape) == "value";
        const bool record = std::string_view(shape) == "record";
        for (int size : { 1, 2, 5, 12, 13, 40 }) {
            INFO(size);
            DocumentTree tree;
            std::set<QString> present;
            for (int round = 0; round < 30; ++round) {
                QString body;
                std::set<QString> now = present;
                for (int k = 0; k < 4; ++k) {
                    const int i = int(rng() % quint64(size));
                    const QString key = keyOf(i, !valueList && rng() % 2 == 0, valueList);
                    const bool remove = !valueList && rng() % 3 == 0;
                    if (now.count(key) || body.contains(QLatin1Char('"') + key + QLatin1Char('"')))
                        continue; // one change per key and delta
                    body += QLatin1Char('"') + key + QStringLiteral("\":") + (remove ? QStringLiteral("null") : (record ? QStringLiteral("{\"x\":%1}").arg(round) : QString::number(round))) + QLatin1Char(',');
                    if (remove)
                        now.erase(key);
                    else
                        now.insert(key);
                }
                // Removals of keys present.
                for (const QString& key : present) {
                    if (!valueList && rng() % 4 == 0 && !body.contains(QLatin1Char('"') + key + QLatin1Char('"'))) {
                        body += QLatin1Char('"') + key + QStringLiteral("\":null,");
                        now.erase(key);
                    }
                }
                if (valueList)
                    body += QStringLiteral("\"@s\":%1,").arg(size);
                if (body.isEmpty())
                    continue;
                body.chop(1);
                const QString wrapper = std::string_view(shape) == "object" ? QStringLiteral("{\"c\":{%1}}") : QStringLiteral("{\"c\":{%1}}");
                const QByteArray delta = wrapper.arg(body).toUtf8();
                INFO(delta.toStdString());
                if (round == 0 && record)
                    tree.apply(R"({"c":{"@o":[]}})", -1);
                tree.apply(std::string_view(delta.constData(), std::size_t(delta.size())), round);
                present = now;
                const NodeId c = tree.find(u"c");
                REQUIRE(c != kNoNode);
                for (int i = 0; i < size; ++i) {
                    for (bool isLong : { false, true }) {
                        const QString key = keyOf(i, isLong, valueList);
                        const NodeId child = tree.childByKey(c, key);
                        if (valueList && i < size) {
                            REQUIRE(child != kNoNode);
                            CHECK(tree.key(child) == key);
                        } else if (present.count(key)) {
                            REQUIRE(child != kNoNode);
                            CHECK(tree.key(child) == key);
                        } else {
                            CHECK(child == kNoNode);
                        }
                    }
                }
                CHECK(tree.childByKey(c, QStringLiteral("absent")) == kNoNode);
                CHECK(tree.childByKey(c, QStringLiteral("an absent key longer than seven")) == kNoNode);
            }
        }
    }
}

TEST_CASE("fold: a delta object of one key is read for @o and @s as a longer one is")
{
    // One key is checked for a list marker where it stands, without the walk over the object, and
    // one member into an object element is merged directly; a second key that changes nothing
    // (null for an absent member) takes the general way instead.
    const char* keys[] = { "@o", "@s", "@x", "@", "@oo", "o@", "ab", "a_long_key_name", "#h", "__key", "b" };
    const char* values[] = { "[]", "[1]", "2", "1", "true", "1.5", "null", "{\"1\":{\"a\":1}}", "\"s\"", "{}" };
    for (FoldMode mode : { FoldMode::Canonical, FoldMode::ReferenceClient }) {
        for (const char* key : keys) {
            for (const char* value : values) {
                const QString one = QStringLiteral("{\"%1\":%2}").arg(QString::fromUtf8(key), QString::fromUtf8(value));
                const QString two = QStringLiteral("{\"%1\":%2,\"zz\":null}").arg(QString::fromUtf8(key), QString::fromUtf8(value));
                // As an element delta (a record list's element, a new one and one already there),
                // and as the delta of a member (an object, a record list and a value list already there).
                const QString deltas[] = {
                    QStringLiteral("{\"l\":{\"1\":%1,\"@o\":[1]}}"),
                    QStringLiteral("{\"l\":{\"1\":{\"b\":1},\"@o\":[1]}}|{\"l\":{\"1\":%1}}"),
                    QStringLiteral("{\"l\":{\"1\":{\"b\":false,\"ab\":true},\"@o\":[1]}}|{\"l\":{\"1\":%1}}|{\"l\":{\"1\":%1}}"),
                    QStringLiteral("{\"o\":{\"b\":1}}|{\"o\":%1}"),
                    QStringLiteral("{\"l\":{\"1\":{\"b\":1},\"@o\":[1]}}|{\"l\":%1}"),
                    QStringLiteral("{\"v\":{\"0\":1,\"@s\":1}}|{\"v\":%1}"),
                };
                for (const QString& pattern : deltas) {
                    DocumentTree a(mode);
                    DocumentTree b(mode);
                    QStringList anomaliesA;
                    QStringList anomaliesB;
                    qint64 event = 0;
                    for (const QString& step : pattern.split(QLatin1Char('|'))) {
                        const QByteArray textA = QString(step).replace(QStringLiteral("%1"), one).toUtf8();
                        const QByteArray textB = QString(step).replace(QStringLiteral("%1"), two).toUtf8();
                        INFO(textA.toStdString());
                        const FoldResult ra = a.apply(std::string_view(textA.constData(), std::size_t(textA.size())), event);
                        const FoldResult rb = b.apply(std::string_view(textB.constData(), std::size_t(textB.size())), event);
                        ++event;
                        for (const Anomaly& x : ra.anomalies)
                            anomaliesA << x.path + QLatin1Char(' ') + x.message;
                        for (const Anomaly& x : rb.anomalies)
                            anomaliesB << x.path + QLatin1Char(' ') + x.message;
                        CHECK(ra.changes.changes == rb.changes.changes);
                    }
                    INFO(pattern.toStdString() << " with " << one.toStdString());
                    CHECK(a.toJson() == b.toJson());
                    CHECK(anomaliesA == anomaliesB);
                    for (const char* path : { "l", "l/1", "o", "v" }) {
                        const NodeId na = a.find(QString::fromUtf8(path));
                        const NodeId nb = b.find(QString::fromUtf8(path));
                        CHECK((na == kNoNode) == (nb == kNoNode));
                        if (na != kNoNode && nb != kNoNode)
                            CHECK(a.kind(na) == b.kind(nb));
                    }
                }
            }
        }
    }
}

TEST_CASE("strings and objects made and dropped on several threads keep their values")
{
    // Strings of 8 to 40 bytes and object Containers come from per-thread caches of freed blocks,
    // and may go back on another thread than the one that made them (tree copies share them).
    const auto text = [](int length, int variant) {
        std::string s;
        for (int i = 0; i < length; ++i)
            s += char('a' + (i + variant) % 26);
        return s;
    };
    const auto deltaFor = [&](int variant) {
        std::string delta = "{";
        for (int length = 6; length <= 44; ++length)
            delta += "\"s" + std::to_string(length) + "\":\"" + text(length + (variant % 3) - 1, variant) + "\",";
        delta += "\"o\":{\"a\":\"" + text(20, variant) + "\",\"b\":" + std::to_string(variant) + ",\"c\":\"" + text(30, variant) + "\"}}";
        return delta;
    };
    DocumentTree shared;
    shared.apply(deltaFor(0), 0);
    const QByteArray sharedJson = shared.toJson();
    std::vector<DocumentTree> copies(4, shared);
    std::vector<int> failures(copies.size(), 0);
    std::vector<std::thread> threads;
    for (std::size_t t = 0; t < copies.size(); ++t) {
        threads.emplace_back([&, t] {
            DocumentTree& tree = copies[t];
            for (int round = 1; round < 200; ++round) {
                const int variant = int(t) * 1000 + round;
                tree.apply(deltaFor(variant), round);
                DocumentTree expected;
                expected.apply(deltaFor(variant), round);
                if (tree.toJson() != expected.toJson())
                    ++failures[t];
                if (round % 7 == 0)
                    tree.apply(R"({"o":null})", round); // the object's Container goes back
            }
            tree = DocumentTree(); // the last copies of the strings go back on this thread
        });
    }
    for (std::thread& thread : threads)
        thread.join();
    for (int failed : failures)
        CHECK(failed == 0);
    CHECK(shared.toJson() == sharedJson);
}

TEST_CASE("fold: an indexed element map that loses and gains elements anywhere finds every one")
{
    // Erased index entries become empty or tombstones (DocumentTree::Data::indexErase); every
    // element must stay reachable by its key, which an @o naming them all checks (a missing one
    // would be an anomaly), in both fold modes.
    for (const FoldMode mode : { FoldMode::Canonical, FoldMode::ReferenceClient }) {
        DocumentTree tree(mode);
        std::vector<int> live;
        std::string delta = R"({"l":{)";
        for (int i = 0; i < 40; ++i) {
            delta += "\"" + std::to_string(i) + "\":{\"v\":" + std::to_string(i) + "},";
            live.push_back(i);
        }
        const auto orderOf = [&] {
            std::string o = R"("@o":[)";
            for (std::size_t i = 0; i < live.size(); ++i)
                o += (i ? "," : "") + std::to_string(live[i]);
            return o + "]";
        };
        REQUIRE(tree.apply(delta + orderOf() + "}}").parsed);
        std::mt19937 rng(29);
        int next = 40;
        for (int step = 0; step < 600; ++step) {
            delta = R"({"l":{)";
            for (int k = int(rng() % 3); k > 0; --k) {
                const std::size_t at = rng() % live.size();
                delta += "\"" + std::to_string(live[at]) + "\":null,";
                live.erase(live.begin() + std::ptrdiff_t(at));
            }
            for (int k = int(rng() % 3); k > 0 || live.size() < 20; --k) {
                delta += "\"" + std::to_string(next) + "\":{\"v\":1},";
                live.insert(live.begin() + std::ptrdiff_t(rng() % (live.size() + 1)), next++);
            }
            std::shuffle(live.begin(), live.begin() + std::ptrdiff_t(live.size() / 2), rng);
            delta += orderOf() + "}}";
            INFO("mode " << int(mode) << " step " << step << " delta " << delta);
            const FoldResult result = tree.apply(delta, step);
            REQUIRE(result.parsed);
            REQUIRE(result.anomalies.empty());
            const QStringList shown = tree.order(tree.find(u"l"));
            REQUIRE(shown.size() == qsizetype(live.size()));
            for (std::size_t i = 0; i < live.size(); ++i)
                REQUIRE(shown.at(qsizetype(i)) == QString::number(live[i]));
        }
    }
}

TEST_CASE("fold: a new list element, built whole or merged, marks its list and the root changed by the delta")
{
    // A record of scalars is built whole and climbs from its list; one of more members than are
    // gathered goes through fill() and touch(). Both leave the same marks above them.
    const struct {
        const char* body;
        std::size_t members;
    } cases[] = {
        { R"({"who":"agent8","what":"message 136 with some text","when":"1718000013600"})", 3 },
        { R"({"m0":0,"m1":1,"m2":2,"m3":3,"m4":4,"m5":5,"m6":6,"m7":7,"m8":8})", 9 },
    };
    for (const auto& [body, members] : cases) {
        for (qint64 event : { qint64(5), (qint64(1) << 33) + 5 }) {
            INFO(body << " event " << event);
            DocumentTree tree;
            tree.apply(R"({"l":{"1":{"a":0},"@o":[1]},"t":0})", 1);
            tree.apply(R"({"t":2})", 2);
            const FoldResult result = tree.apply(std::string(R"({"l":{"7":)") + body + "}}", event);
            REQUIRE(result.parsed);
            const NodeId list = tree.find(u"l");
            CHECK(tree.lastChangedBy(list) == event);
            CHECK(tree.lastChangedBy(tree.root()) == event);
            CHECK(tree.lastChangedBy(tree.find(u"t")) == 2);
            CHECK(result.changes.touched.size() == 1 + members); // the element and its members, once each
            // The next delta shows the element: its record and members are the delta's.
            tree.apply(R"({"l":{"@o":[1,7]}})", event + 1);
            const NodeId record = tree.child(list, 1);
            CHECK(tree.createdBy(record) == event);
            CHECK(tree.lastChangedBy(record) == event);
            CHECK(tree.lastChangedBy(tree.child(record, 0)) == event);
            CHECK(checkTreeInvariants(tree).isEmpty());
        }
    }
}

TEST_CASE("fold: a raw array's items are touched once each, when it is made and when it is replaced (both modes)")
{
    // The touched list names every node a delta creates: a raw array's items (nested arrays and
    // objects in it too) as much as the array.
    const auto subtree = [](const DocumentTree& tree, NodeId top) {
        std::set<NodeId> nodes;
        std::vector<NodeId> pending { top };
        while (!pending.empty()) {
            const NodeId node = pending.back();
            pending.pop_back();
            nodes.insert(node);
            for (int row = 0; row < tree.childCount(node); ++row)
                pending.push_back(tree.child(node, row));
        }
        return nodes;
    };
    for (const FoldMode mode : { FoldMode::Canonical, FoldMode::ReferenceClient }) {
        for (const char* array : { R"([1,[2,3],{"x":4,"y":[5]}])", R"(["a",null,true,2.5])", "[[]]" }) {
            INFO("mode " << int(mode) << " array " << array);
            DocumentTree tree(mode);
            tree.apply(R"({"t":0,"e":{"1":{"n":1},"@o":[1]}})", 1);
            // Made as an object member, and as a member of a new list element.
            FoldResult made = tree.apply(std::string(R"({"a":)") + array + R"(,"e":{"2":{"r":)" + array + "},\"@o\":[1,2]}}", 2);
            REQUIRE(made.parsed);
            std::set<NodeId> expected = subtree(tree, tree.find(u"a"));
            const std::set<NodeId> element = subtree(tree, tree.find(u"e/2"));
            expected.insert(element.begin(), element.end());
            expected.insert(tree.find(u"e")); // its order changed
            CHECK(expected.size() > 2);
            CHECK(std::set<NodeId>(made.changes.touched.begin(), made.changes.touched.end()) == expected);
            CHECK(made.changes.touched.size() == expected.size());
            // Replaced by another array: the new items are the delta's.
            const FoldResult replaced = tree.apply(std::string(R"({"a":[)") + array + ",7]}", 3);
            REQUIRE(replaced.parsed);
            const std::set<NodeId> now = subtree(tree, tree.find(u"a"));
            CHECK(std::set<NodeId>(replaced.changes.touched.begin(), replaced.changes.touched.end()) == now);
            CHECK(replaced.changes.touched.size() == now.size());
            for (NodeId node : now)
                CHECK(tree.createdBy(node) == (node == tree.find(u"a") ? 2 : 3));
            CHECK(checkTreeInvariants(tree).isEmpty());
        }
    }
}

TEST_CASE("fold: every scalar a delta changes is one ValueChanged, in order, however many (both modes)")
{
    // More changes than a change set's first capacity, into a FoldResult reused from delta to delta
    // (as the session folder does), and into a fresh one: both ways of finding room for a change.
    constexpr int kMembers = 40;
    const auto deltaOf = [](int value) {
        std::string delta = R"({"o":{)";
        for (int i = 0; i < kMembers; ++i)
            delta += (i ? ",\"k" : "\"k") + std::to_string(i) + "\":" + (i % 4 == 3 ? (value % 2 ? "true" : "false") : std::to_string(value));
        return delta + "}}";
    };
    for (const FoldMode mode : { FoldMode::Canonical, FoldMode::ReferenceClient }) {
        DocumentTree tree(mode);
        FoldResult reused;
        tree.apply(deltaOf(0), 0, reused);
        REQUIRE(reused.parsed);
        for (int round = 1; round <= 4; ++round) {
            INFO("mode " << int(mode) << " round " << round);
            FoldResult fresh;
            FoldResult& result = round % 2 ? reused : fresh;
            tree.apply(deltaOf(round), round, result);
            REQUIRE(result.parsed);
            REQUIRE(result.changes.changes.size() == std::size_t(kMembers));
            for (int i = 0; i < kMembers; ++i) {
                const TreeChange& change = result.changes.changes[std::size_t(i)];
                CHECK(change.type == TreeChange::Type::ValueChanged);
                CHECK(change.node == tree.find(QStringLiteral("o/k%1").arg(i)));
                CHECK(change.parent == kNoNode);
                CHECK(change.first == -1);
                CHECK(change.last == -1);
                CHECK(change.destination == -1);
            }
            CHECK(result.changes.touched.size() == std::size_t(kMembers)); // the changed nodes, not their ancestors
        }
    }
}

TEST_CASE("fold: members looked for at a hinted position are the members named (objects, sibling records, both modes)")
{
    // The fold looks for an object's next delta key just after the last one found, and for a
    // one-member element delta's member where the previous sibling's was: keys in stored order,
    // shuffled, removed and added again, and records whose fields are in different orders must
    // all reach the member named.
    const std::vector<std::string> names { "a", "b", "c", "d", "e", "f", "g", "a_longer_key" };
    for (const FoldMode mode : { FoldMode::Canonical, FoldMode::ReferenceClient }) {
        std::mt19937 rng(mode == FoldMode::Canonical ? 7 : 8);
        const auto valueText = [&](QJsonValue& into) -> std::string {
            switch (rng() % 4) {
            case 0:
                into = QJsonValue();
                return "null";
            case 1:
                into = bool(rng() % 2);
                return into.toBool() ? "true" : "false";
            default:
                into = int(rng() % 1000);
                return std::to_string(into.toInt());
            }
        };
        DocumentTree tree(mode);
        QJsonObject object;
        std::vector<QJsonObject> records(6);
        // Each record's fields in an order of its own.
        std::string delta = R"({"o":{"a":0,"b":0,"c":0,"d":0,"e":0},"l":{)";
        for (std::size_t r = 0; r < records.size(); ++r) {
            std::vector<std::string> fields = names;
            std::shuffle(fields.begin(), fields.end(), rng);
            delta += (r ? ",\"" : "\"") + std::to_string(r) + "\":{";
            for (std::size_t f = 0; f < fields.size(); ++f) {
                delta += (f ? ",\"" : "\"") + fields[f] + "\":" + std::to_string(f);
                records[r].insert(QString::fromStdString(fields[f]), int(f));
            }
            delta += "}";
        }
        delta += R"(,"@o":[0,1,2,3,4,5]}})";
        for (const char* name : { "a", "b", "c", "d", "e" })
            object.insert(QString::fromLatin1(name), 0);
        REQUIRE(tree.apply(delta, 0).parsed);
        for (int step = 1; step <= 300; ++step) {
            std::vector<std::string> keys = names;
            keys.resize(1 + rng() % keys.size());
            if (rng() % 2)
                std::shuffle(keys.begin(), keys.end(), rng);
            delta = R"({"o":{)";
            for (std::size_t k = 0; k < keys.size(); ++k) {
                QJsonValue value;
                delta += (k ? ",\"" : "\"") + keys[k] + "\":" + valueText(value);
                if (value.isNull())
                    object.remove(QString::fromStdString(keys[k]));
                else
                    object.insert(QString::fromStdString(keys[k]), value);
            }
            delta += R"(},"l":{)";
            // One-member deltas to several records, mostly for the same field.
            const std::string& field = names[rng() % names.size()];
            std::vector<std::size_t> picked { 0, 1, 2, 3, 4, 5 };
            std::shuffle(picked.begin(), picked.end(), rng); // distinct: a repeated key is another matter
            for (int e = 0; e < 4; ++e) {
                const std::size_t r = picked[std::size_t(e)];
                const std::string& name = rng() % 4 ? field : names[rng() % names.size()];
                QJsonValue value;
                delta += (e ? ",\"" : "\"") + std::to_string(r) + "\":{\"" + name + "\":" + valueText(value) + "}";
                if (value.isNull())
                    records[r].remove(QString::fromStdString(name));
                else
                    records[r].insert(QString::fromStdString(name), value);
            }
            delta += "}}";
            INFO("mode " << int(mode) << " step " << step << " delta " << delta);
            REQUIRE(tree.apply(delta, step).parsed);
            QJsonArray list;
            for (const QJsonObject& record : records)
                list.append(record);
            const QJsonObject expected { { QStringLiteral("o"), object }, { QStringLiteral("l"), list } };
            INFO("shown " << tree.toJson().toStdString());
            REQUIRE(visible(tree) == QJsonValue(expected));
        }
    }
}

TEST_CASE("fold: the root's first key is looked for where the last delta's was, whatever the root became (both modes)")
{
    // The root's first lookup starts where the previous delta's first key was found: roots that
    // grow, shrink to nothing, reorder and take keys back must still reach the member named, and a
    // copy of the tree folds on from the same state.
    const std::vector<std::string> names { "a", "b", "c", "d", "e", "f", "a_longer_key" };
    for (const FoldMode mode : { FoldMode::Canonical, FoldMode::ReferenceClient }) {
        std::mt19937 rng(mode == FoldMode::Canonical ? 11 : 12);
        DocumentTree tree(mode);
        QJsonObject expected;
        for (int step = 0; step < 400; ++step) {
            std::vector<std::string> keys = names;
            std::shuffle(keys.begin(), keys.end(), rng);
            keys.resize(1 + rng() % keys.size());
            std::string delta = "{";
            for (std::size_t k = 0; k < keys.size(); ++k) {
                const QString key = QString::fromStdString(keys[k]);
                delta += (k ? ",\"" : "\"") + keys[k] + "\":";
                // Mostly removals when the root is big, so it empties now and then.
                if (rng() % 8 < (expected.size() > 4 ? 5u : 2u)) {
                    delta += "null";
                    expected.remove(key);
                } else if (rng() % 3 == 0) {
                    const int v = int(rng() % 100);
                    delta += "{\"v\":" + std::to_string(v) + "}";
                    QJsonObject inner = expected.value(key).toObject(); // a scalar becomes an object
                    inner.insert(QStringLiteral("v"), v);
                    expected.insert(key, inner);
                } else {
                    const int v = int(rng() % 100);
                    delta += std::to_string(v);
                    expected.insert(key, v);
                }
            }
            delta += "}";
            INFO("mode " << int(mode) << " step " << step << " delta " << delta);
            REQUIRE(tree.apply(delta, step).parsed);
            INFO("shown " << tree.toJson().toStdString());
            REQUIRE(visible(tree) == QJsonValue(expected));
            if (step % 50 == 49)
                tree = DocumentTree(tree); // a copy folds on
        }
    }
}

TEST_CASE("fold: a removed record frees its whole subtree, flat or nested, and its slots serve again (both modes)")
{
    // freeSubtree() frees a record of scalars without its stack, anything else with it: every
    // node of either kind ends, and new records built after them are whole.
    const char* const records = R"({"1":{},"2":{"a":1},"3":{"a":1,"b":"x"},"4":{"a":1,"b":"a string too long to be inline","c":true},)"
                                R"("5":{"a":1,"b":2,"c":3,"d":4,"e":5},"6":{"a":1,"o":{"p":2,"q":[1,2]}},"7":"scalar","8":{"a":[1]}})";
    for (const FoldMode mode : { FoldMode::Canonical, FoldMode::ReferenceClient }) {
        INFO("mode " << int(mode));
        DocumentTree tree(mode);
        std::string build = R"({"l":)" + std::string(records);
        build.insert(build.size() - 1, R"(,"@o":[1,2,3,4,5,6,7,8])");
        build += R"(,"o":)" + std::string(records) + "}";
        REQUIRE(tree.apply(build, 0).parsed);
        const QJsonValue whole = visible(tree);
        const std::size_t nodes = tree.nodeCount();
        std::vector<NodeId> freed;
        const std::function<void(NodeId)> collect = [&](NodeId node) {
            freed.push_back(node);
            for (int row = 0; row < tree.childCount(node); ++row)
                collect(tree.child(node, row));
        };
        for (const char* container : { "l", "o" }) {
            for (int k = 1; k <= 8; ++k)
                collect(tree.find(QStringLiteral("%1/%2").arg(QLatin1String(container)).arg(k)));
        }
        REQUIRE(freed.size() == nodes - 3); // all but the root, l and o
        const std::string removeAll = R"({"l":{"1":null,"2":null,"3":null,"4":null,"5":null,"6":null,"7":null,"8":null,"@o":[]},)"
                                      R"("o":{"1":null,"2":null,"3":null,"4":null,"5":null,"6":null,"7":null,"8":null}})";
        REQUIRE(tree.apply(removeAll, 1).parsed);
        for (NodeId id : freed)
            CHECK_FALSE(tree.contains(id));
        CHECK(tree.nodeCount() == 3);
        REQUIRE(tree.apply(build, 2).parsed);
        CHECK(visible(tree) == whole);
        CHECK(tree.nodeCount() == nodes);
    }
}

TEST_CASE("fold: the touched list is exact whether or not a delta frees a touched node (both modes)")
{
    // finish() checks the entries only when a touched node was freed; otherwise it leaves them as
    // they are. Both ways, the list names each live touched node once, and the next delta's marks
    // are its own (each mutation marks with a new touch epoch).
    for (const FoldMode mode : { FoldMode::Canonical, FoldMode::ReferenceClient }) {
        INFO("mode " << int(mode));
        DocumentTree tree(mode);
        REQUIRE(tree.apply(R"({"l":{"1":{"v":1},"2":{"v":2},"@o":[1,2]},"n":1})", 0).parsed);
        const auto checkTouched = [&](const FoldResult& result, std::vector<const char16_t*> expected) {
            const std::vector<NodeId>& touched = result.changes.touched;
            std::set<NodeId> expectedIds;
            for (const char16_t* path : expected)
                expectedIds.insert(tree.find(QStringView(path)));
            CHECK(std::set<NodeId>(touched.begin(), touched.end()) == expectedIds);
            CHECK(touched.size() == expectedIds.size());
        };

        // An element that was not touched is removed; a new one is built and a scalar changed.
        FoldResult result = tree.apply(R"({"l":{"3":{"v":3},"1":null,"@o":[2,3]},"n":2})", 1);
        REQUIRE(result.parsed);
        CHECK(tree.toJson() == QByteArray(R"({"l":[{"v":2},{"v":3}],"n":2})"));
        checkTouched(result, { u"l", u"l/3", u"l/3/v", u"n" });
        // Last delta's marks are stale: the same nodes changed again are reported again.
        result = tree.apply(R"({"l":{"3":{"v":4}},"n":3})", 2);
        checkTouched(result, { u"l/3/v", u"n" });

        // A touched node freed by the same delta (element 2 changed, then removed), its slots not
        // reused: its entries are dropped, the other touched nodes kept and unmarked.
        const NodeId two = tree.find(u"l/2");
        const NodeId twoV = tree.find(u"l/2/v");
        result = tree.apply(R"({"l":{"2":{"v":9},"2":null,"@o":[3]},"n":4})", 3);
        REQUIRE(result.parsed);
        CHECK(tree.toJson() == QByteArray(R"({"l":[{"v":4}],"n":4})"));
        CHECK(std::count(result.changes.touched.begin(), result.changes.touched.end(), two) == 0);
        CHECK(std::count(result.changes.touched.begin(), result.changes.touched.end(), twoV) == 0);
        checkTouched(result, { u"l", u"n" });
        result = tree.apply(R"({"l":{"3":{"v":5}},"n":5})", 4);
        checkTouched(result, { u"l/3/v", u"n" });
    }
}

TEST_CASE("fold: a node marked touched long ago is reported again after the touch epochs wrap (both modes)")
{
    // Each mutation with a change set marks its touched nodes with a 16-bit epoch. Nodes last
    // touched from 65524 to 65547 mutations ago (so across the wrap), in a tree and in a copy that
    // shares its chunks when the wrap comes, must all be reported when touched again; mutations
    // without a change set take no epoch.
    constexpr int kKeys = 24;
    constexpr int kBetween = 65499; // mutations with a change set between the marks and the touches again
    const auto key = [](int k) { return "k" + std::to_string(k); };
    for (const FoldMode mode : { FoldMode::Canonical, FoldMode::ReferenceClient }) {
        INFO("mode " << int(mode));
        DocumentTree tree(mode);
        std::string first = R"({"a":0)";
        for (int k = 0; k < kKeys; ++k)
            first += ",\"" + key(k) + "\":0";
        REQUIRE(tree.apply(first + "}", 0).parsed);
        qint64 event = 1;
        FoldResult result;
        // One key a mutation: key k is marked by the (2 + k)th.
        for (int k = 0; k < kKeys; ++k)
            tree.apply("{\"" + key(k) + "\":1}", event++, result);
        DocumentTree copy;
        for (int step = 0; step < kBetween; ++step) {
            if (step == kBetween - 50)
                copy = tree;
            for (DocumentTree* folding : { &tree, &copy }) {
                if (folding == &copy && step < kBetween - 50)
                    continue;
                folding->apply("{\"a\":" + std::to_string(step % 7 + 1) + "}", event, result);
                if (step % 5 == 0)
                    folding->apply("{\"a\":9}", event, result, DocumentTree::ChangeDetail::None);
            }
            ++event;
        }
        for (DocumentTree* folding : { &copy, &tree }) {
            // Key k touched again by the (2k + 2)th mutation from here: 25 + kBetween + k after its mark.
            qint64 at = event;
            for (int k = 0; k < kKeys; ++k) {
                INFO("key " << k << (folding == &copy ? " (copy)" : ""));
                folding->apply("{\"a\":" + std::to_string(at % 9 + 10) + "}", at, result);
                ++at;
                folding->apply("{\"" + key(k) + "\":" + std::to_string(at % 100 + 2) + ",\"a\":" + std::to_string(at % 9 + 20) + "}", at, result);
                ++at;
                REQUIRE(result.parsed);
                const std::set<NodeId> touched(result.changes.touched.begin(), result.changes.touched.end());
                CHECK(touched == std::set<NodeId> { folding->find(QString::fromStdString(key(k))), folding->find(u"a") });
                CHECK(result.changes.touched.size() == 2);
            }
            // Past the wrap: new nodes, and a member removed (its parent touched), as before it.
            folding->apply(R"({"n":{"x":1},"k0":null,"k1":3})", at++, result);
            CHECK(std::set<NodeId>(result.changes.touched.begin(), result.changes.touched.end())
                == std::set<NodeId> { folding->root(), folding->find(u"n"), folding->find(u"n/x"), folding->find(u"k1") });
            folding->apply(R"({"n":{"x":2},"k1":4})", at++, result);
            CHECK(std::set<NodeId>(result.changes.touched.begin(), result.changes.touched.end())
                == std::set<NodeId> { folding->find(u"n/x"), folding->find(u"k1") });
        }
    }
}

TEST_CASE("fold: a value list edited without @s is reported whether or not it is shown (both modes)")
{
    // The stale-value check reads an element's row only when the element is not known to be shown:
    // a list below a hidden record still has rows of its own, and is still reported.
    for (const FoldMode mode : { FoldMode::Canonical, FoldMode::ReferenceClient }) {
        for (const bool shown : { true, false }) {
            INFO("mode " << int(mode) << " shown " << shown);
            DocumentTree tree(mode);
            REQUIRE(tree.apply(shown ? R"({"r":{"1":{"v":{"0":1,"1":2,"@s":2}},"@o":[1]}})" : R"({"r":{"1":{"v":{"0":1,"1":2,"@s":2}},"@o":[]}})", 0).parsed);
            FoldResult result = tree.apply(R"({"r":{"1":{"v":{"1":7}}}})", 1);
            REQUIRE(result.parsed);
            REQUIRE(result.anomalies.size() == 1);
            CHECK(result.anomalies.front().kind == AnomalyKind::ValueListEditedWithoutSize);
            CHECK(result.anomalies.front().path == QStringLiteral("r/1/v"));
            CHECK(result.anomalies.front().eventIndex == 1);
            // The same value again is no edit, and nothing is reported.
            result = tree.apply(R"({"r":{"1":{"v":{"1":7}}}})", 2);
            CHECK(result.anomalies.empty());
        }
    }
}
