#include <catch2/catch.hpp>

#include "core/document/documenttree_p.h"

#include <random>
#include <set>
#include <string>
#include <vector>

using deltascope::detail::SlotVec;

namespace {
bool same(const SlotVec& v, const std::vector<quint32>& model)
{
    if (v.size() != model.size() || v.empty() != model.empty())
        return false;
    for (std::size_t i = 0; i < model.size(); ++i) {
        if (v[i] != model[i])
            return false;
    }
    return std::equal(v.begin(), v.end(), model.begin(), model.end()) && v == model;
}
}

TEST_CASE("SlotVec behaves as std::vector under random edits at the front, middle and end")
{
    std::mt19937 rng(5);
    const auto below = [&](std::size_t n) { return n ? std::size_t(rng() % n) : 0; };
    quint32 next = 1;
    for (int run = 0; run < 200; ++run) {
        SlotVec v;
        std::vector<quint32> model;
        for (int step = 0; step < 300; ++step) {
            INFO("run " << run << " step " << step << " size " << model.size());
            switch (below(12)) {
            case 0:
            case 1:
                v.push_back(next);
                model.push_back(next++);
                break;
            case 2: { // erase at the front (the scrolling list)
                if (model.empty())
                    break;
                const std::size_t count = 1 + below(std::min<std::size_t>(model.size(), 3));
                v.erase(v.begin(), v.begin() + count);
                model.erase(model.begin(), model.begin() + std::ptrdiff_t(count));
                break;
            }
            case 3: { // erase one anywhere
                if (model.empty())
                    break;
                const std::size_t at = below(model.size());
                v.erase(v.begin() + at);
                model.erase(model.begin() + std::ptrdiff_t(at));
                break;
            }
            case 4: { // insert a run anywhere, the front included
                const std::size_t at = below(model.size() + 1);
                const std::vector<quint32> run { next, next + 1, next + 2 };
                next += 3;
                const std::size_t count = 1 + below(3);
                v.insert(v.begin() + at, run.begin(), run.begin() + std::ptrdiff_t(count));
                model.insert(model.begin() + std::ptrdiff_t(at), run.begin(), run.begin() + std::ptrdiff_t(count));
                break;
            }
            case 5: {
                const std::size_t at = below(model.size() + 1);
                const std::size_t count = below(4);
                v.insert(v.begin() + at, count, next);
                model.insert(model.begin() + std::ptrdiff_t(at), count, next++);
                break;
            }
            case 6: {
                const std::size_t size = below(model.size() + 4);
                v.resize(size);
                model.resize(size);
                break;
            }
            case 7:
                v.shrink_to_fit();
                break;
            case 8:
                v.reserve(below(40));
                break;
            case 9: {
                SlotVec copy(v);
                REQUIRE(same(copy, model));
                SlotVec moved(std::move(copy));
                REQUIRE(same(moved, model));
                REQUIRE(copy.empty());
                SlotVec assigned;
                assigned.push_back(99);
                assigned = std::move(moved);
                v = assigned;
                break;
            }
            case 10: {
                const quint32 parity = quint32(below(2));
                erase_if(v, [&](quint32 x) { return x % 2 == parity; });
                std::erase_if(model, [&](quint32 x) { return x % 2 == parity; });
                break;
            }
            default:
                if (below(10) == 0) {
                    v.clear();
                    model.clear();
                } else {
                    v = model; // assign from a std::vector
                }
                break;
            }
            REQUIRE(same(v, model));
            if (!model.empty()) {
                REQUIRE(v.front() == model.front());
                REQUIRE(v.back() == model.back());
            }
        }
    }
}

TEST_CASE("SlotVec keeps up to three slots in place, through copies, moves and growth")
{
    // A new record of three members keeps its slots in its Container's SlotVec, with no buffer:
    // the third slot shares no bytes with the others, and a heap vector's pointer overlays them.
    static_assert(SlotVec::kInline == 3);
    SlotVec three;
    three.push_back(11);
    three.push_back(12);
    three.push_back(13);
    REQUIRE(same(three, { 11, 12, 13 }));
    const quint32 held[] = { 21, 22, 23 };
    SlotVec assigned;
    assigned.assign(held, held + 3);
    REQUIRE(same(assigned, { 21, 22, 23 }));
    SlotVec copy(three);
    REQUIRE(same(copy, { 11, 12, 13 }));
    SlotVec heap;
    for (quint32 i = 1; i <= 9; ++i)
        heap.push_back(100 + i);
    copy = std::move(heap); // swaps an in-place vector with a heap one
    REQUIRE(same(copy, { 101, 102, 103, 104, 105, 106, 107, 108, 109 }));
    REQUIRE(same(heap, { 11, 12, 13 }));
    SlotVec moved(std::move(heap));
    REQUIRE(same(moved, { 11, 12, 13 }));
    REQUIRE(heap.empty());
    moved.push_back(14); // grows out of place
    REQUIRE(same(moved, { 11, 12, 13, 14 }));
    moved.erase(moved.begin());
    moved.shrink_to_fit(); // back in place
    REQUIRE(same(moved, { 12, 13, 14 }));
    moved.erase(moved.begin());
    moved.insert(moved.begin(), 10); // into the front gap, in place
    REQUIRE(same(moved, { 10, 13, 14 }));
    moved.insert(moved.begin() + 1, 20);
    REQUIRE(same(moved, { 10, 20, 13, 14 }));
}

TEST_CASE("member index hash spreads keys that differ only in their last characters")
{
    // Ids and field names often share a prefix: a hash that dropped the last bytes would put
    // them in a handful of slots and make lookups in a big list linear.
    using deltascope::detail::hashKey;
    const auto distinctSlots = [](const std::vector<std::string>& keys, std::size_t tableSize) {
        std::set<std::size_t> slots;
        for (const std::string& key : keys)
            slots.insert(std::size_t(hashKey(key)) & (tableSize - 1));
        return slots.size();
    };
    std::vector<std::string> ids;
    for (int i = 1000000; i < 1002000; ++i)
        ids.push_back(std::to_string(i)); // 7 characters: stored inline
    CHECK(distinctSlots(ids, 4096) > 1500);
    std::vector<std::string> names;
    for (int i = 0; i < 100; ++i)
        names.push_back("item_" + std::to_string(100 + i).substr(1)); // item_00 .. item_99
    CHECK(distinctSlots(names, 256) > 60);
    std::vector<std::string> longKeys;
    for (int i = 0; i < 2000; ++i)
        longKeys.push_back("player-" + std::to_string(100000 + i)); // beyond inline: the FNV path
    CHECK(distinctSlots(longKeys, 4096) > 1500);
}
