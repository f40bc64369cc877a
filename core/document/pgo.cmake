# Profile-guided optimization of the document engine (GCC, optimized builds).
#
# The fold's time goes to many small, data-dependent branches (the JSON parse, member lookups, list
# merges) over a flat profile; GCC lays them out better knowing which way each one goes. So the
# build first builds the engine in a training tree of its own (${CMAKE_BINARY_DIR}/pgo-training,
# this project configured with DELTASCOPE_PGO_TRAINING), compiled to count its branches, runs a
# representative workload on it (pgotraining.cpp: folds, encodes, diffs and exports of generated
# documents), and compiles the engine the product links, deltascope_document_engine, with those
# counts. Measured: 3 to 4% more deltas folded per second (tests/bench/bench_document, busy stream),
# and about 20% more encodes right after a transaction.
#
# A training tree, not a second target here: GCC matches a static function's counts by the object
# file's path, which is the same path relative to each tree's top.
# Functions the training never ran are optimized as without a profile (-fprofile-partial-training),
# not as cold: a path the workload misses (an anomaly, an odd delta) is not made slow.
# Elsewhere (clang, Debug, fuzzing, DELTASCOPE_PGO=OFF) the engine is compiled once, as the rest.

add_library(deltascope_document_engine OBJECT ${DELTASCOPE_DOCUMENT_ENGINE_SOURCES})
target_include_directories(deltascope_document_engine PRIVATE ${PROJECT_SOURCE_DIR} ${CMAKE_CURRENT_BINARY_DIR}/generated)
target_link_libraries(deltascope_document_engine PRIVATE Qt6::Core simdjson::simdjson)
set_target_properties(deltascope_document_engine PROPERTIES AUTOMOC OFF AUTOUIC OFF AUTORCC OFF)
# -O3 over the engine in optimized builds (a Debug build stays as debuggable as the rest): its loops
# over members and elements gain from the extra inlining and unswitching, about 4% of the busy fold.
target_compile_options(deltascope_document_engine PRIVATE $<$<NOT:$<CONFIG:Debug>>:-O3>)
target_sources(deltascope_core PRIVATE $<TARGET_OBJECTS:deltascope_document_engine>)

if(DELTASCOPE_PGO_TRAINING)
    # Inside the training tree: the engine counts, and the training program runs it.
    target_compile_options(deltascope_document_engine PRIVATE -fprofile-generate -fprofile-update=single) # one thread
    add_executable(deltascope_pgo_training ${CMAKE_CURRENT_LIST_DIR}/pgotraining.cpp $<TARGET_OBJECTS:deltascope_document_engine>)
    target_include_directories(deltascope_pgo_training PRIVATE ${PROJECT_SOURCE_DIR})
    target_link_libraries(deltascope_pgo_training PRIVATE Qt6::Core simdjson::simdjson)
    target_link_options(deltascope_pgo_training PRIVATE -fprofile-generate)
    set_target_properties(deltascope_pgo_training PROPERTIES AUTOMOC OFF AUTOUIC OFF AUTORCC OFF)
    file(GENERATE OUTPUT ${CMAKE_BINARY_DIR}/pgo-objects.cmake CONTENT
        "set(training_objects \"$<TARGET_OBJECTS:deltascope_document_engine>\")\nset(training_program \"$<TARGET_FILE:deltascope_pgo_training>\")\n")
    return()
endif()

if(NOT (DELTASCOPE_PGO AND CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND NOT DELTASCOPE_FUZZ AND NOT CMAKE_CROSSCOMPILING
        AND CMAKE_BUILD_TYPE MATCHES "^(Release|RelWithDebInfo|MinSizeRel)$"))
    return()
endif()

set(training_dir ${CMAKE_BINARY_DIR}/pgo-training)
set(profile_header ${CMAKE_CURRENT_BINARY_DIR}/pgo/deltascope_document_profile.h)
file(GENERATE OUTPUT ${CMAKE_CURRENT_BINARY_DIR}/pgo/engine-objects.cmake CONTENT
    "set(engine_objects \"$<TARGET_OBJECTS:deltascope_document_engine>\")\n")
# What the engine and its training are built from: a change to any of it trains again.
file(GLOB engine_headers CONFIGURE_DEPENDS ${CMAKE_CURRENT_LIST_DIR}/*.h ${PROJECT_SOURCE_DIR}/core/*.h)
set(training_inputs ${DELTASCOPE_DOCUMENT_ENGINE_SOURCES} ${CMAKE_CURRENT_LIST_DIR}/pgotraining.cpp ${engine_headers})
add_custom_command(OUTPUT ${profile_header}
    COMMAND ${CMAKE_COMMAND}
        -DSOURCE_DIR=${PROJECT_SOURCE_DIR} -DTRAINING_DIR=${training_dir} -DGENERATOR=${CMAKE_GENERATOR}
        -DCXX_COMPILER=${CMAKE_CXX_COMPILER} -DBUILD_TYPE=${CMAKE_BUILD_TYPE} -DCXX_FLAGS=${CMAKE_CXX_FLAGS}
        -DWARNINGS_AS_ERRORS=${DELTASCOPE_WARNINGS_AS_ERRORS} -DENGINE_OBJECTS=${CMAKE_CURRENT_BINARY_DIR}/pgo/engine-objects.cmake
        -DENGINE_TOP=${CMAKE_BINARY_DIR} -DHEADER=${profile_header} -P ${CMAKE_CURRENT_LIST_DIR}/pgotrain.cmake
    DEPENDS ${training_inputs} ${CMAKE_CURRENT_LIST_DIR}/pgo.cmake ${CMAKE_CURRENT_LIST_DIR}/pgotrain.cmake
        ${CMAKE_CURRENT_LIST_DIR}/sources.cmake ${CMAKE_CURRENT_BINARY_DIR}/pgo/engine-objects.cmake
    COMMENT "Training the document engine for profile-guided optimization (in ${training_dir})"
    USES_TERMINAL
    VERBATIM)
add_custom_target(deltascope_document_profile DEPENDS ${profile_header})
# The engine compiles after the training, and again when the counts change: each of its objects
# includes a header that names them (by checksum), so the compiler's dependency list holds it. The
# header holds no code, so the functions GCC matches the counts to stay as they were trained.
add_dependencies(deltascope_document_engine deltascope_document_profile)
# A unit without counts is warned about (the training wrote none for it: a fault in the steps above),
# not failed, as the code is right either way, only slower.
target_compile_options(deltascope_document_engine PRIVATE -fprofile-use -fprofile-partial-training -Wno-error=missing-profile
    -include ${profile_header})
