#include <catch2/catch.hpp>

#include "core/document/documenttree.h"
#include "documenttestutils.h"

#include <algorithm>
#include <cmath>
#include <string>

using namespace deltascope;
using namespace deltascope::test;

namespace {

FoldResult applyText(DocumentTree& tree, const std::string& json, qint64 event = 7) { return tree.apply(json, event); }

bool has(const FoldResult& result, AnomalyKind kind)
{
    return std::any_of(result.anomalies.begin(), result.anomalies.end(), [&](const Anomaly& a) { return a.kind == kind; });
}

// After bad input the tree still folds good deltas.
void checkUsable(DocumentTree& tree)
{
    const FoldResult result = tree.apply(R"({"after":{"ok":true}})", 99);
    REQUIRE(result.parsed);
    CHECK(result.anomalies.empty());
    CHECK(tree.boolValue(tree.find(u"after/ok")));
    CHECK(checkTreeInvariants(tree).isEmpty());
}

DocumentTree start()
{
    DocumentTree tree;
    tree.apply(R"({"l":{"1":{"v":1},"2":{"v":2},"3":{"v":3},"@o":[1,2,3]},"s":{"0":5,"@s":1},"t":"x"})", 0);
    return tree;
}

}

TEST_CASE("bad input: truncated JSON is refused with its byte offset and changes nothing")
{
    DocumentTree tree = start();
    const QByteArray before = tree.toJson();
    const FoldResult result = applyText(tree, R"({"t":"y","l":{"4":{"v")");
    CHECK_FALSE(result.parsed);
    CHECK(result.error.contains(QStringLiteral("byte 22")));
    CHECK(result.error.contains(QStringLiteral("truncated")));
    REQUIRE(has(result, AnomalyKind::InvalidJson));
    CHECK(result.anomalies.front().eventIndex == 7);
    CHECK(result.changes.empty());
    CHECK(tree.toJson() == before);
    checkUsable(tree);
    CHECK_FALSE(applyText(tree, "").parsed);
    CHECK_FALSE(applyText(tree, "{\"a\":1} x").parsed);
    CHECK_FALSE(applyText(tree, "{'a':1}").parsed);
    checkUsable(tree);
}

TEST_CASE("bad input: JSON that is not an object is reported and ignored")
{
    DocumentTree tree = start();
    const QByteArray before = tree.toJson();
    for (const char* json : { "[1,2]", "5", "\"text\"", "null", "true" }) {
        INFO(json);
        const FoldResult result = applyText(tree, json);
        CHECK(result.parsed);
        CHECK(has(result, AnomalyKind::NotAnObject));
        CHECK_FALSE(result.error.isEmpty());
        CHECK(tree.toJson() == before);
    }
    checkUsable(tree);
}

TEST_CASE("bad input: 100,000 levels of nesting give a clear error, not a stack overflow")
{
    DocumentTree tree = start();
    for (const char* open : { "{\"a\":", "[" }) {
        std::string json = "{\"deep\":";
        const std::string close = open[0] == '[' ? "]" : "}";
        for (int i = 0; i < 100000; ++i)
            json += open;
        json += "1";
        for (int i = 0; i < 100000; ++i)
            json += close;
        json += "}";
        const FoldResult result = applyText(tree, json);
        CHECK_FALSE(result.parsed);
        CHECK(result.error.contains(QStringLiteral("deeper than %1").arg(DocumentTree::kMaxDepth)));
        CHECK(has(result, AnomalyKind::InvalidJson));
    }
    // Exactly kMaxDepth levels still fold, and can be exported and encoded; one more is refused.
    const auto nested = [](int levels) {
        std::string json;
        for (int i = 0; i < levels; ++i)
            json += "{\"a\":";
        json += "1";
        json += std::string(std::size_t(levels), '}');
        return json;
    };
    const FoldResult tooDeep = applyText(tree, nested(DocumentTree::kMaxDepth + 1));
    CHECK_FALSE(tooDeep.parsed);
    CHECK(tooDeep.error.contains(QStringLiteral("deeper than %1").arg(DocumentTree::kMaxDepth)));
    const int depth = DocumentTree::kMaxDepth;
    REQUIRE(applyText(tree, nested(depth)).parsed);
    CHECK(tree.toJson().size() > depth * 5);
    CHECK(encodeDelta(DocumentTree(), tree).size() > depth * 5);
    checkUsable(tree);
}

TEST_CASE("bad input: huge strings fold and export")
{
    DocumentTree tree = start();
    const std::string big(20 * 1024 * 1024, 'x');
    const FoldResult result = applyText(tree, "{\"big\":\"" + big + "\"}");
    REQUIRE(result.parsed);
    CHECK(tree.stringValue(tree.find(u"big")).size() == qsizetype(big.size()));
    CHECK(tree.toJson().size() > qsizetype(big.size()));
    checkUsable(tree);
}

TEST_CASE("numbers beyond 64-bit integers fold as doubles and export as JSON that reads back")
{
    // 2^64 - 1 parses as an unsigned 64-bit integer and is kept as the nearest double, 2^64; its
    // shortest digits alone would read as an integer too big for any 64-bit type.
    DocumentTree tree = start();
    REQUIRE(applyText(tree, R"({"big":18446744073709551615,"small":-1e19,"fits":9007199254740993,"half":1.5})").parsed);
    CHECK(tree.kind(tree.find(u"big")) == NodeKind::Double);
    const QByteArray json = tree.toJson();
    INFO(json.toStdString());
    CHECK(json.contains("\"big\":1.8446744073709552e+19"));
    CHECK(json.contains("\"small\":-1e+19"));
    CHECK(json.contains("\"fits\":9007199254740993")); // an integer stays exact
    CHECK(json.contains("\"half\":1.5"));
    DocumentTree reread;
    QString error;
    REQUIRE(DocumentTree::fromJson(std::string_view(json.constData(), std::size_t(json.size())), reread, &error));
    CHECK(reread.toJson() == json);
    // The encoder writes the same text, so a viewer can fold what it sends.
    const QByteArray delta = encodeDelta(DocumentTree(), tree);
    DocumentTree viewer;
    REQUIRE(viewer.apply(std::string_view(delta.constData(), std::size_t(delta.size())), 0).parsed);
    CHECK(viewer.toJson() == json);
}

TEST_CASE("negative zero is kept as sent, exports as -0.0 and reads back as itself")
{
    // "-0" would read back as the integer 0. Found by fuzz_fold (tests/fuzz/corpus/fold/anomalies).
    DocumentTree tree = start();
    REQUIRE(applyText(tree, R"({"z":-0.0,"p":0.0})").parsed);
    CHECK(tree.kind(tree.find(u"z")) == NodeKind::Double);
    CHECK(std::signbit(tree.doubleValue(tree.find(u"z"))));
    const QByteArray json = tree.toJson();
    INFO(json.toStdString());
    CHECK(json.contains("\"z\":-0.0"));
    CHECK(json.contains("\"p\":0.0")); // a whole double keeps its fraction: "0" would read back as an integer
    DocumentTree reread;
    REQUIRE(DocumentTree::fromJson(std::string_view(json.constData(), std::size_t(json.size())), reread));
    CHECK(std::signbit(reread.doubleValue(reread.find(u"z"))));
    CHECK(reread.toJson() == json);

    // 0 -> -0 is a change of value (it prints and divides otherwise); the other way too.
    FoldResult result = applyText(tree, R"({"p":-0.0})", 8);
    CHECK(std::signbit(tree.doubleValue(tree.find(u"p"))));
    CHECK(result.changes.changes.size() == 1);
    result = applyText(tree, R"({"p":0.0})", 9);
    CHECK_FALSE(std::signbit(tree.doubleValue(tree.find(u"p"))));
    CHECK(tree.lastChangedBy(tree.find(u"p")) == 9);

    // The encoder sends what an Adama server (Java) writes: -0.0.
    const QByteArray delta = encodeDelta(DocumentTree(), reread);
    CHECK(delta.contains("\"z\":-0.0"));
}

TEST_CASE("integers beyond any 64-bit type fold as the nearest double, as a fraction of that size already does")
{
    // JSON allows any integer and JavaScript reads it as the nearest double; simdjson alone refuses
    // them while it reads 1e23 written as a fraction.
    DocumentTree tree = start();
    const FoldResult result = applyText(tree,
        R"({"huge":100000000000000000000000,"below":-9223372036854775809,"above":18446744073709551616,)"
        R"("also":100000000000000000000000.0,"l":{"4":{"v":123456789012345678901234567890},"@o":[[0,2],4]},)"
        R"("text":"123456789012345678901234567890","123456789012345678901234567890":1})");
    REQUIRE(result.parsed);
    CHECK(result.anomalies.empty());
    CHECK(tree.kind(tree.find(u"huge")) == NodeKind::Double);
    CHECK(tree.doubleValue(tree.find(u"huge")) == 1e23);
    CHECK(tree.doubleValue(tree.find(u"huge")) == tree.doubleValue(tree.find(u"also")));
    CHECK(tree.doubleValue(tree.find(u"below")) == -9223372036854775809.0);
    CHECK(tree.doubleValue(tree.find(u"above")) == 18446744073709551616.0);
    CHECK(tree.doubleValue(tree.find(u"l/4/v")) == 123456789012345678901234567890.0);
    // Digits inside strings and keys are text, left as they are.
    CHECK(tree.stringValue(tree.find(u"text")) == QStringLiteral("123456789012345678901234567890"));
    CHECK(tree.integerValue(tree.childByKey(tree.root(), u"123456789012345678901234567890")) == 1);
    // A later syntax error is still found where it is, not at the integer.
    const FoldResult bad = applyText(tree, R"({"huge":100000000000000000000000,"x":tru})");
    CHECK_FALSE(bad.parsed);
    INFO(bad.error.toStdString());
    CHECK(bad.error == QStringLiteral("invalid JSON at byte 37: unexpected character 't'"));
    checkUsable(tree);
}

TEST_CASE("bad input: a number beyond a double's range and a lone surrogate are refused with where and what")
{
    DocumentTree tree = start();
    const FoldResult overflow = applyText(tree, R"({"t":"y","big":1e400})");
    CHECK_FALSE(overflow.parsed);
    CHECK(overflow.error == QStringLiteral("invalid JSON at byte 15: number 1e400 is beyond the range of a double"));
    CHECK(applyText(tree, R"({"tiny":1e-400})").parsed); // an underflow reads as zero, as JavaScript reads it
    CHECK(tree.doubleValue(tree.find(u"tiny")) == 0.0);
    const FoldResult lone = applyText(tree, R"({"t":"a\ud800b"})");
    CHECK_FALSE(lone.parsed);
    INFO(lone.error.toStdString());
    CHECK(lone.error.contains(QStringLiteral("at byte 7: lone UTF-16 surrogate \\ud800")));
    CHECK(tree.stringValue(tree.find(u"t")) == QStringLiteral("x"));
    CHECK_FALSE(applyText(tree, R"({"t":"\udc00"})").parsed); // a low half first
    CHECK_FALSE(applyText(tree, R"({"t":"\ud83d\u0041"})").parsed); // a high half and no low one
    REQUIRE(applyText(tree, R"({"t":"\ud83d\ude00"})").parsed); // a pair is one character
    CHECK(tree.stringValue(tree.find(u"t")) == QString::fromUtf8("\xf0\x9f\x98\x80"));
    checkUsable(tree);
}

TEST_CASE("bad input: invalid UTF-8 is refused with its byte offset")
{
    DocumentTree tree = start();
    const FoldResult result = applyText(tree, "{\"t\":\"ab\xff\"}");
    CHECK_FALSE(result.parsed);
    CHECK(result.error.contains(QStringLiteral("UTF-8")));
    CHECK(result.error.contains(QStringLiteral("byte 8")));
    CHECK(tree.stringValue(tree.find(u"t")) == QStringLiteral("x"));
    CHECK_FALSE(applyText(tree, "{\"t\":\"\xed\xa0\x80\"}").parsed); // a UTF-16 surrogate encoded in UTF-8
    checkUsable(tree);
}

TEST_CASE("bad input: duplicate keys are reported and the last one wins")
{
    DocumentTree tree = start();
    FoldResult result = applyText(tree, R"({"t":"a","t":"b","o":{"k":1,"k":{"z":2}}})");
    REQUIRE(result.parsed);
    CHECK(has(result, AnomalyKind::DuplicateKey));
    CHECK(tree.stringValue(tree.find(u"t")) == QStringLiteral("b"));
    CHECK(tree.toJson(tree.find(u"o"), false) == QByteArray(R"({"k":{"z":2}})"));
    result = applyText(tree, R"({"l":{"2":null,"2":{"v":22}}})");
    CHECK(has(result, AnomalyKind::DuplicateKey));
    CHECK(tree.toJson(tree.find(u"l"), false) == QByteArray(R"([{"v":1},{"v":22},{"v":3}])"));
    checkUsable(tree);
}

TEST_CASE("bad input: duplicate keys of every length are found, and distinct keys never are")
{
    const auto duplicates = [](const FoldResult& result) {
        return std::count_if(result.anomalies.begin(), result.anomalies.end(), [](const Anomaly& a) { return a.kind == AnomalyKind::DuplicateKey; });
    };
    DocumentTree tree = start();
    // Keys that share their first eight bytes and their length differ only after: not duplicates.
    FoldResult result = applyText(tree, R"({"abcdefgh1":1,"abcdefgh2":2,"abcdefgh":3,"abcdefg":4,"":5,"a":6})");
    REQUIRE(result.parsed);
    CHECK(duplicates(result) == 0);
    // The same key repeated, short, exactly eight bytes, long, and empty, in objects small and large.
    for (const char* text : { R"({"o":{"x":1,"a":2,"x":3}})", R"({"o":{"abcdefgh":1,"b":2,"abcdefgh":3}})",
             R"({"o":{"a long key of many bytes":1,"a long key of many bytes":2}})", R"({"o":{"":1,"k":2,"":3}})",
             R"({"o":{"k0":0,"k1":1,"k2":2,"k3":3,"k4":4,"k5":5,"k6":6,"k7":7,"k8":8,"k3":9}})" }) {
        INFO(text);
        DocumentTree fresh = start();
        result = applyText(fresh, text);
        REQUIRE(result.parsed);
        CHECK(duplicates(result) == 1);
        checkUsable(fresh);
    }
    checkUsable(tree);
}

TEST_CASE("bad input: distinct keys that share a filter bit are not duplicates, repeated ones are")
{
    // Delta objects of up to eight keys are checked key by key through a 64-bit filter: among eight
    // keys, two distinct ones often share a bit. Many such objects, in an object and a list, both modes.
    const auto duplicates = [](const FoldResult& result) {
        return std::count_if(result.anomalies.begin(), result.anomalies.end(), [](const Anomaly& a) { return a.kind == AnomalyKind::DuplicateKey; });
    };
    const auto fields = [](const std::vector<std::string>& keys) {
        std::string text;
        for (std::size_t k = 0; k < keys.size(); ++k)
            text += (k ? "," : "") + ("\"" + keys[k] + "\":" + std::to_string(k));
        return text;
    };
    for (const FoldMode mode : { FoldMode::Canonical, FoldMode::ReferenceClient }) {
        for (int group = 0; group < 64; ++group) {
            INFO(group);
            std::vector<std::string> keys;
            for (int k = 0; k < 8; ++k) // short keys and, now and then, one too long to be inline
                keys.push_back((k == 5 && group % 3 == 0) ? "a long key number " + std::to_string(group * 8 + k) : std::to_string(group * 8 + k));
            DocumentTree tree(mode);
            const std::vector<std::string> listKeys(keys.begin(), keys.begin() + 7);
            FoldResult result = applyText(tree, "{\"o\":{" + fields(keys) + "},\"l\":{" + fields(listKeys) + ",\"@s\":0}}");
            REQUIRE(result.parsed);
            CHECK(duplicates(result) == 0);
            // Five keys, then the first once more and the fourth twice more: three repeats.
            std::vector<std::string> repeated(keys.begin(), keys.begin() + 5);
            repeated.insert(repeated.end(), { keys[0], keys[3], keys[3] });
            DocumentTree again(mode);
            result = applyText(again, "{\"o\":{" + fields(repeated) + "}}");
            REQUIRE(result.parsed);
            CHECK(duplicates(result) == 3);
            DocumentTree list(mode);
            repeated.resize(7);
            result = applyText(list, "{\"l\":{" + fields(repeated) + ",\"@s\":0}}");
            REQUIRE(result.parsed);
            CHECK(duplicates(result) == 2);
        }
    }
}

TEST_CASE("bad input: ReferenceClient mode reports the same duplicate keys, small objects and large, as the canonical fold")
{
    // The reference fold first settles which fields a repeated key shadows; when none repeats, it
    // looks for no duplicate either. Repeated keys, near and far apart, in objects and lists of
    // two to twenty keys, are reported alike in both modes, and distinct ones never are.
    const auto duplicates = [](const FoldResult& result) {
        return std::count_if(result.anomalies.begin(), result.anomalies.end(), [](const Anomaly& a) { return a.kind == AnomalyKind::DuplicateKey; });
    };
    for (int size = 2; size <= 20; ++size) {
        for (int repeatAt = -1; repeatAt < size - 1; ++repeatAt) {
            // Keys k0.., with the last one repeating key repeatAt (-1: no repeat).
            std::string fields;
            for (int k = 0; k < size; ++k) {
                const int name = (k == size - 1 && repeatAt >= 0) ? repeatAt : k;
                fields += (k ? ",\"" : "\"") + std::to_string(name) + "\":" + std::to_string(k);
            }
            INFO("size " << size << " repeat at " << repeatAt);
            long counts[2][2];
            for (const FoldMode mode : { FoldMode::Canonical, FoldMode::ReferenceClient }) {
                DocumentTree tree(mode);
                FoldResult result = applyText(tree, "{\"o\":{" + fields + "}}");
                REQUIRE(result.parsed);
                counts[int(mode)][0] = duplicates(result);
                result = applyText(tree, "{\"l\":{" + fields + ",\"@s\":0}}");
                REQUIRE(result.parsed);
                counts[int(mode)][1] = duplicates(result);
            }
            for (int kind = 0; kind < 2; ++kind) {
                CHECK(counts[int(FoldMode::Canonical)][kind] == (repeatAt >= 0 ? 1 : 0));
                CHECK(counts[int(FoldMode::ReferenceClient)][kind] == counts[int(FoldMode::Canonical)][kind]);
            }
        }
    }
}

TEST_CASE("bad input: @o garbage, ranges out of bounds and missing ids are anomalies")
{
    DocumentTree tree = start();
    FoldResult result = applyText(tree, R"({"l":{"@o":"x"}})");
    CHECK(has(result, AnomalyKind::BadListInstruction));
    CHECK(tree.toJson(tree.find(u"l"), false) == QByteArray(R"([{"v":1},{"v":2},{"v":3}])"));

    result = applyText(tree, R"({"l":{"@o":[true,null,{},[1],[1,"a"],[2,1],1.5,3]}})");
    CHECK(has(result, AnomalyKind::BadListInstruction));
    CHECK(tree.toJson(tree.find(u"l"), false) == QByteArray(R"([{"v":3}])"));
    for (const Anomaly& a : result.anomalies)
        CHECK(a.path.startsWith(QStringLiteral("l")));

    tree = start();
    result = applyText(tree, R"({"l":{"@o":[[0,1000000000000],[-5,0],77,"nope"]}})");
    CHECK(has(result, AnomalyKind::RangeOutsidePreviousList));
    CHECK(has(result, AnomalyKind::IdMissingFromElementMap));
    // Canonical: the full old list once (the second range repeats element 1 and is shown once).
    CHECK(tree.toJson(tree.find(u"l"), false) == QByteArray(R"([{"v":1},{"v":2},{"v":3}])"));

    result = applyText(tree, R"({"s":{"@s":-1}})");
    CHECK(has(result, AnomalyKind::BadListInstruction));
    result = applyText(tree, R"({"s":{"@s":"2"}})");
    CHECK(has(result, AnomalyKind::BadListInstruction));
    result = applyText(tree, R"({"s":{"@s":1000000000000}})");
    CHECK(has(result, AnomalyKind::BadListInstruction));
    CHECK(tree.toJson(tree.find(u"s"), false) == QByteArray("[5]"));
    result = applyText(tree, R"({"s":{"@s":3}})");
    CHECK(has(result, AnomalyKind::IdMissingFromElementMap));
    CHECK(tree.toJson(tree.find(u"s"), false) == QByteArray("[5,null,null]"));
    result = applyText(tree, R"({"s":{"1":6,"2":7}})");
    CHECK(tree.toJson(tree.find(u"s"), false) == QByteArray("[5,6,7]"));
    checkUsable(tree);
}

TEST_CASE("bad input: @s and @o numbers beyond any 64-bit integer are anomalies")
{
    // Casting such a double to an integer was undefined behaviour (found by fuzz_fold under UBSan).
    for (const FoldMode mode : { FoldMode::Canonical, FoldMode::ReferenceClient }) {
        DocumentTree tree(mode);
        tree.apply(R"({"l":{"1":{"v":1},"@o":[1]},"s":{"0":5,"@s":1}})", 0);
        const FoldResult size = applyText(tree, R"({"s":{"@s":3.2e49}})");
        CHECK(has(size, AnomalyKind::BadListInstruction));
        const FoldResult order = applyText(tree, R"({"l":{"@o":[1,-1e300,1e19]}})");
        CHECK(has(order, AnomalyKind::BadListInstruction));
        if (mode == FoldMode::Canonical)
            CHECK(tree.toJson().startsWith(R"({"l":[{"v":1}])"));
        checkUsable(tree);
    }
}

TEST_CASE("bad input: one small delta cannot make millions of nodes it did not send")
{
    // Each @s may name indexes the delta does not send (shown as null placeholders); across one
    // delta at most 65,536 such nodes are made, however many lists it names. Found by fuzz_fold.
    for (const FoldMode mode : { FoldMode::Canonical, FoldMode::ReferenceClient }) {
        DocumentTree tree(mode);
        std::string delta = "{";
        for (int list = 0; list < 40; ++list)
            delta += (list ? ",\"" : "\"") + std::to_string(list) + "\":{\"@s\":40000}";
        delta += "}";
        const FoldResult result = applyText(tree, delta);
        CHECK(tree.nodeCount() < 70000); // one list of 40,000, the rest refused
        CHECK(tree.childCount(tree.find(u"0")) == 40000);
        CHECK(tree.childCount(tree.find(u"1")) == 0);
        CHECK(std::count_if(result.anomalies.begin(), result.anomalies.end(), [](const Anomaly& a) { return a.message.contains(QLatin1String("far beyond")); }) == 39);
        // The next delta has a budget of its own.
        applyText(tree, R"({"1":{"@s":40000}})", 8);
        CHECK(tree.childCount(tree.find(u"1")) == 40000);
        checkUsable(tree);
    }

    // ReferenceClient: an @o range far below zero over a prior value reads no position (the
    // bound once went through an out-of-range conversion to an integer).
    DocumentTree reference(FoldMode::ReferenceClient);
    reference.apply(R"({"l":"abc"})", 0);
    const FoldResult range = reference.apply(R"({"l":{"@o":[[-1e300,-1e300]]}})", 1);
    CHECK(range.parsed);
    CHECK(reference.childCount(reference.find(u"l")) == 0);
    checkUsable(reference);
}

TEST_CASE("bad input: an element both removed and ordered is left out and reported")
{
    DocumentTree tree = start();
    const FoldResult result = applyText(tree, R"({"l":{"2":null,"@o":[1,2,3]}})");
    CHECK(has(result, AnomalyKind::BadListInstruction));
    CHECK(tree.toJson(tree.find(u"l"), false) == QByteArray(R"([{"v":1},{"v":3}])"));
    DocumentTree reference(FoldMode::ReferenceClient);
    reference.apply(R"({"l":{"1":{"v":1},"2":{"v":2},"3":{"v":3},"@o":[1,2,3]}})");
    reference.apply(R"({"l":{"2":null,"@o":[1,2,3]}})");
    // tree.js builds the new array before deleting, so the removed record is still shown.
    CHECK(reference.toJson(reference.find(u"l"), false) == QByteArray(R"([{"v":1},{"v":2},{"v":3}])"));
    CHECK(checkTreeInvariants(reference).isEmpty());
    checkUsable(tree);
}

TEST_CASE("kinds: lists, objects and scalars changing kind are reported and folded")
{
    DocumentTree tree = start();
    FoldResult result = applyText(tree, R"({"l":{"a":1}})"); // object merged into a record list: an element
    CHECK(result.anomalies.empty());
    CHECK(tree.hiddenElementCount(tree.find(u"l")) == 1);
    result = applyText(tree, R"({"l":5})");
    CHECK(has(result, AnomalyKind::KindChanged));
    result = applyText(tree, R"({"l":{"0":1,"@s":1}})");
    CHECK(has(result, AnomalyKind::KindChanged));
    CHECK(tree.kind(tree.find(u"l")) == NodeKind::ValueList);
    result = applyText(tree, R"({"l":{"7":{"q":1},"@o":[7]}})");
    CHECK(has(result, AnomalyKind::KindChanged));
    CHECK(tree.kind(tree.find(u"l")) == NodeKind::RecordList);
    CHECK(tree.toJson(tree.find(u"l"), false) == QByteArray(R"([{"q":1}])"));
    result = applyText(tree, R"({"t":[1,{"@o":[1]}]})");
    CHECK(tree.kind(tree.find(u"t")) == NodeKind::RawArray);
    CHECK(tree.toJson(tree.find(u"t"), false) == QByteArray(R"([1,{"@o":[1]}])"));
    CHECK(tree.find(u"t/1/@o/0") != kNoNode);
    checkUsable(tree);
}

TEST_CASE("provenance: created, last changed, and a bounded history per node")
{
    DocumentTree tree;
    tree.apply(R"({"a":{"b":1},"c":1})", 1);
    for (qint64 event = 2; event <= 20; ++event)
        tree.apply(QStringLiteral(R"({"a":{"b":%1}})").arg(event).toStdString(), event);
    const NodeId b = tree.find(u"a/b");
    CHECK(tree.createdBy(b) == 1);
    CHECK(tree.lastChangedBy(b) == 20);
    ProvenanceHistory history = tree.history(b);
    CHECK(history.totalCount == 20);
    REQUIRE(history.recentEvents.size() == std::size_t(DocumentTree::kProvenanceDepth));
    CHECK(history.recentEvents.back() == 20);
    CHECK(history.recentEvents.front() == 20 - DocumentTree::kProvenanceDepth + 1);
    CHECK(tree.lastChangedBy(tree.find(u"a")) == 20);
    CHECK(tree.lastChangedBy(tree.root()) == 20);
    CHECK(tree.history(tree.find(u"c")).totalCount == 1);
    CHECK(tree.history(tree.find(u"c")).recentEvents == std::vector<qint64> { 1 });
    // Copies keep provenance and diverge.
    DocumentTree copy = tree;
    copy.apply(R"({"a":{"b":0}})", 21);
    CHECK(tree.lastChangedBy(b) == 20);
    CHECK(copy.lastChangedBy(b) == 21);
    CHECK(copy.history(b).totalCount == 21);
    CHECK(tree.history(b).totalCount == 20);
    // Unchanged values are not changes.
    tree.apply(R"({"a":{"b":20}})", 22);
    CHECK(tree.lastChangedBy(b) == 20);
}

TEST_CASE("provenance: the history ring keeps the newest events in order, before and after it wraps")
{
    DocumentTree tree;
    tree.apply(R"({"a":{"b":1}})", 1);
    const NodeId b = tree.find(u"a/b");
    std::vector<qint64> expected { 1 };
    // Each event changes b once: the history has one more entry each time, the oldest dropped
    // once it holds kProvenanceDepth of them.
    for (qint64 event = 2; event <= 3 * DocumentTree::kProvenanceDepth + 3; ++event) {
        tree.apply(QStringLiteral(R"({"a":{"b":%1}})").arg(event).toStdString(), event);
        expected.push_back(event);
        if (expected.size() > std::size_t(DocumentTree::kProvenanceDepth))
            expected.erase(expected.begin());
        const ProvenanceHistory history = tree.history(b);
        CHECK(history.totalCount == quint64(event));
        CHECK(history.recentEvents == expected);
        CHECK(tree.lastChangedBy(b) == event);
        CHECK(tree.createdBy(b) == 1);
    }
}

TEST_CASE("provenance: event indexes beyond 32 bits are kept whole")
{
    // Nodes hold events in 32 bits and fall back to a history for larger ones.
    constexpr qint64 big = 5'000'000'000LL;
    DocumentTree tree;
    tree.apply(R"({"a":1,"b":1})", 7);
    tree.apply(R"({"a":2})", big);
    const NodeId a = tree.find(u"a");
    CHECK(tree.createdBy(a) == 7);
    CHECK(tree.lastChangedBy(a) == big);
    CHECK(tree.history(a).recentEvents == std::vector<qint64> { 7, big });
    CHECK(tree.history(a).totalCount == 2);
    tree.apply(R"({"a":3})", big + 1);
    CHECK(tree.lastChangedBy(a) == big + 1);
    CHECK(tree.history(a).recentEvents == std::vector<qint64> { 7, big, big + 1 });
    tree.apply(R"({"c":1})", big + 2);
    CHECK(tree.createdBy(tree.find(u"c")) == big + 2);
    CHECK(tree.lastChangedBy(tree.find(u"c")) == big + 2);
    CHECK(tree.history(tree.find(u"c")).recentEvents == std::vector<qint64> { big + 2 });
    CHECK(tree.lastChangedBy(tree.root()) == big + 2);
    // The last event that fits in 32 bits, and the first that does not.
    tree.apply(R"({"d":1})", 0xfffffffdLL);
    tree.apply(R"({"e":1})", 0xfffffffeLL);
    CHECK(tree.createdBy(tree.find(u"d")) == 0xfffffffdLL);
    CHECK(tree.createdBy(tree.find(u"e")) == 0xfffffffeLL);
    CHECK(tree.lastChangedBy(tree.find(u"b")) == 7);
}

TEST_CASE("change set: exact ranges and touched nodes")
{
    DocumentTree tree = start();
    FoldResult result = tree.apply(R"({"l":{"4":{"v":4},"@o":[4,[0,2]]},"t":"y","n":1})", 1);
    REQUIRE(result.changes.changes.size() == 3);
    const TreeChange& insert = result.changes.changes[0];
    CHECK(insert.type == TreeChange::Type::Inserted);
    CHECK(insert.parent == tree.find(u"l"));
    CHECK(insert.first == 0);
    CHECK(insert.last == 0);
    CHECK(result.changes.changes[1].type == TreeChange::Type::ValueChanged);
    CHECK(result.changes.changes[1].node == tree.find(u"t"));
    CHECK(result.changes.changes[2].type == TreeChange::Type::Inserted);
    CHECK(result.changes.changes[2].parent == tree.root());
    CHECK(result.changes.changes[2].first == 3);
    const auto& touched = result.changes.touched;
    CHECK(std::find(touched.begin(), touched.end(), tree.find(u"l/4")) != touched.end());
    CHECK(std::find(touched.begin(), touched.end(), tree.find(u"t")) != touched.end());
    result = tree.apply(R"({"l":{"@o":[1,2,3,4]}})", 2);
    REQUIRE(result.changes.changes.size() == 1);
    CHECK(result.changes.changes[0].type == TreeChange::Type::Moved);
    CHECK(result.changes.changes[0].first == 0);
    CHECK(result.changes.changes[0].destination == 4);
}

TEST_CASE("diff: added, removed, changed and moved paths")
{
    DocumentTree before;
    before.apply(R"({"a":1,"b":{"c":2},"l":{"1":{"v":1},"2":{"v":2},"3":{"v":3},"4":{"v":4},"@o":[1,2,3,4]},"s":{"0":1,"1":2,"@s":2}})");
    DocumentTree after = before;
    CHECK(diffTrees(before, after).isEmpty());
    after.apply(R"({"a":2,"b":{"c":null,"d":1},"l":{"5":{"v":5},"2":{"v":20},"@o":[4,1,2,3,5]},"s":{"2":3,"@s":3},"x/y":true})");
    const TreeDiff diff = diffTrees(before, after);
    CHECK(diff.added.contains(QStringLiteral("b/d")));
    CHECK(diff.added.contains(QStringLiteral("l/5")));
    CHECK(diff.added.contains(QStringLiteral("s/2")));
    CHECK(diff.added.contains(QStringLiteral("x~1y")));
    CHECK(diff.removed == QStringList { QStringLiteral("b/c") });
    CHECK(diff.changed.contains(QStringLiteral("a")));
    CHECK(diff.changed.contains(QStringLiteral("l/2/v")));
    REQUIRE(diff.moved.size() == 1);
    CHECK(diff.moved[0].listPath == QStringLiteral("l"));
    CHECK(diff.moved[0].elementKey == QStringLiteral("4"));
    CHECK(diff.moved[0].fromRow == 3);
    CHECK(diff.moved[0].toRow == 0);
    const TreeDiff back = diffTrees(after, before);
    CHECK(back.removed.contains(QStringLiteral("l/5")));
}

TEST_CASE("fromJson: a visible document becomes a tree, bad documents are refused with an offset")
{
    DocumentTree tree;
    QString error;
    REQUIRE(DocumentTree::fromJson(R"({"a":[1,{"b":null}],"c":{"d":"e"},"n":null})", tree, &error));
    CHECK(tree.kind(tree.find(u"a")) == NodeKind::RawArray);
    CHECK(tree.toJson() == QByteArray(R"({"a":[1,{"b":null}],"c":{"d":"e"},"n":null})"));
    CHECK_FALSE(DocumentTree::fromJson(R"({"a":)", tree, &error));
    CHECK(error.contains(QStringLiteral("byte 5")));
    CHECK_FALSE(DocumentTree::fromJson("[1]", tree, &error));
    CHECK(error.contains(QStringLiteral("object")));
}

TEST_CASE("editing: ids are stable, never reused, and invalid ids are harmless")
{
    DocumentTree tree;
    const NodeId list = tree.setRecordList(tree.root(), u"l");
    const NodeId a = tree.setElementObject(list, u"1");
    tree.setInteger(a, u"v", 1);
    tree.setOrder(list, { QStringLiteral("1") });
    CHECK(tree.toJson() == QByteArray(R"({"l":[{"v":1}]})"));
    tree.removeElement(list, u"1");
    CHECK_FALSE(tree.contains(a));
    const NodeId b = tree.setElementObject(list, u"2");
    CHECK(b != a);
    CHECK(tree.kind(a) == NodeKind::Null);
    CHECK(tree.childCount(a) == 0);
    CHECK(tree.path(a).isEmpty());
    tree.setInteger(a, u"v", 3); // no effect on a dead id
    CHECK(tree.toJson() == QByteArray(R"({"l":[]})"));
    CHECK(tree.hiddenElementCount(list) == 1);
    tree.clear();
    CHECK_FALSE(tree.contains(list));
    CHECK(tree.toJson() == QByteArray("{}"));
    CHECK(tree.nodeCount() == 1);
}

TEST_CASE("editing: containers cannot be nested deeper than kMaxDepth")
{
    DocumentTree tree;
    NodeId node = tree.root();
    int depth = 0;
    while (depth < DocumentTree::kMaxDepth + 10) {
        const NodeId next = tree.setObject(node, u"a");
        if (next == kNoNode)
            break;
        node = next;
        ++depth;
    }
    CHECK(depth == DocumentTree::kMaxDepth - 1);
    tree.setInteger(node, u"leaf", 1); // scalars still fit at the deepest level
    const QByteArray snapshot = tree.toSnapshotDelta();
    DocumentTree viewer;
    CHECK(viewer.apply(std::string_view(snapshot.constData(), std::size_t(snapshot.size()))).parsed);
    CHECK(viewer.toJson() == tree.toJson());
}

TEST_CASE("provenance: a fold notes its event on every ancestor, across chunks a copy shares (both modes)")
{
    // The climb from a changed node to the root goes on apart where it allocates or copies: a
    // node's first history, a history or a chunk shared with a tree copy. Each ancestor below is
    // made in a chunk of its own (filler in between), so a copy shares each one's chunk.
    for (const FoldMode mode : { FoldMode::Canonical, FoldMode::ReferenceClient }) {
        INFO("mode " << int(mode));
        DocumentTree tree(mode);
        qint64 event = 0;
        const auto filler = [&](int n) {
            std::string delta = "{\"f" + std::to_string(event) + "\":{";
            for (int i = 0; i < n; ++i)
                delta += (i ? ",\"k" : "\"k") + std::to_string(i) + "\":" + std::to_string(i);
            REQUIRE(tree.apply(delta + "}}", event++).parsed);
        };
        const char* levels[] = { R"({"a":{}})", R"({"a":{"b":{}}})", R"({"a":{"b":{"c":{}}}})", R"({"a":{"b":{"c":{"d":0}}}})" };
        for (const char* level : levels) {
            filler(40);
            REQUIRE(tree.apply(level, event++).parsed);
        }
        const std::vector<NodeId> path { tree.root(), tree.find(u"a"), tree.find(u"a/b"), tree.find(u"a/b/c"), tree.find(u"a/b/c/d") };
        for (std::size_t i = 1; i < path.size(); ++i)
            CHECK(quint32(path[i]) / 32 != quint32(path[i - 1]) / 32); // a chunk of its own
        const auto change = [&](DocumentTree& t, qint64 e) {
            REQUIRE(t.apply("{\"a\":{\"b\":{\"c\":{\"d\":" + std::to_string(e) + "}}}}", e).parsed);
        };
        // Each ancestor gets its first history (a third distinct event), then pushes to it.
        for (int k = 0; k < 4; ++k, ++event) {
            change(tree, event);
            for (NodeId node : path) {
                CHECK(tree.lastChangedBy(node) == event);
                CHECK(tree.history(node).recentEvents.back() == event);
            }
        }
        std::vector<quint64> totals;
        for (NodeId node : path)
            totals.push_back(tree.history(node).totalCount);
        // A copy shares every chunk and history: its fold copies them and notes its event on each
        // ancestor; the original keeps its own.
        DocumentTree copy = tree;
        const qint64 copyEvent = event++;
        change(copy, copyEvent);
        for (std::size_t i = 0; i < path.size(); ++i) {
            CHECK(copy.lastChangedBy(path[i]) == copyEvent);
            CHECK(copy.history(path[i]).totalCount == totals[i] + 1);
            CHECK(tree.lastChangedBy(path[i]) == copyEvent - 1);
            CHECK(tree.history(path[i]).totalCount == totals[i]);
        }
        const qint64 treeEvent = event++;
        change(tree, treeEvent);
        for (std::size_t i = 0; i < path.size(); ++i) {
            CHECK(tree.lastChangedBy(path[i]) == treeEvent);
            CHECK(tree.history(path[i]).totalCount == totals[i] + 1);
            CHECK(copy.lastChangedBy(path[i]) == copyEvent);
        }
    }
}

TEST_CASE("a byte that does not print is named by its value, a byte order mark as such")
{
    DocumentTree tree = start();
    const FoldResult bom = applyText(tree, "\xEF\xBB\xBF{\"a\":1}");
    CHECK_FALSE(bom.parsed);
    CHECK(bom.error == QStringLiteral("invalid JSON at byte 0: unexpected byte 0xef (a UTF-8 byte order mark: save the file without one)"));
    const FoldResult nul = applyText(tree, std::string("{\"a\":\x00}", 7));
    CHECK_FALSE(nul.parsed);
    CHECK(nul.error == QStringLiteral("invalid JSON at byte 5: unexpected byte 0x00"));
    checkUsable(tree);
}
